/* Flows the node's own conntrack translated before kpr took their frontend
 * over: kube-proxy's rules (or any DNAT) during a migration to kpr. Such a
 * flow's packets reach the edge LB and the per-packet path mid-flow, with no
 * entry in kpr's flow table; a backend kpr picked for them would answer with
 * a reset. The stack still holds their translation (and the agent keeps
 * nf_nat's hooks registered while any is left: lib/host/inherited_nat.ts),
 * so they are left to it.
 *
 * Looked up only on a miss of kpr's flow table, and only for packets that do
 * not open a connection (any UDP packet does not say): the cost falls on
 * new UDP flows, never on flows kpr already carries. Without nf_conntrack in
 * the kernel (or its module not loaded) every flow is kpr's: the lookups'
 * own options type is then missing from the kernel's BTF, a constant false
 * that the verifier prunes the unresolved calls by. (libbpf 1.1 resolves the
 * address of a weak kfunc to 0 even where it exists, so that cannot be the
 * test.) */
#ifndef KPR_NODE_CONNTRACK_H
#define KPR_NODE_CONNTRACK_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "kpr_flow_lifetime.h"
#include "kpr_parse.h"

extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *xdp_ctx, struct bpf_sock_tuple *bpf_tuple, __u32 tuple__sz,
					 struct bpf_ct_opts *opts, __u32 opts__sz) __ksym __weak;
extern struct nf_conn *bpf_skb_ct_lookup(struct __sk_buff *skb_ctx, struct bpf_sock_tuple *bpf_tuple, __u32 tuple__sz,
					 struct bpf_ct_opts *opts, __u32 opts__sz) __ksym __weak;
extern void bpf_ct_release(struct nf_conn *ct) __ksym __weak;

/* Which program type's context a caller has: the two lookups take different ones. */
enum kpr_ctx_kind {
	KPR_CTX_XDP,
	KPR_CTX_SKB,
};

/* Does the kernel have the conntrack lookups? Their options type comes with them. */
static __always_inline int conntrack_kfuncs(void)
{
	return bpf_core_type_exists(struct bpf_ct_opts);
}

/* A flow of the family's addresses and ports (network order) as the lookups
 * take it; its size. */
static __always_inline __u32 conntrack_tuple_of(struct bpf_sock_tuple *t, __u8 family, const __u8 *saddr, const __u8 *daddr,
						__u16 sport, __u16 dport)
{
	if (family == KPR_AF_INET) {
		__builtin_memcpy(&t->ipv4.saddr, saddr, 4);
		__builtin_memcpy(&t->ipv4.daddr, daddr, 4);
		t->ipv4.sport = sport;
		t->ipv4.dport = dport;
		return sizeof(t->ipv4);
	}
	__builtin_memcpy(t->ipv6.saddr, saddr, 16);
	__builtin_memcpy(t->ipv6.daddr, daddr, 16);
	t->ipv6.sport = sport;
	t->ipv6.dport = dport;
	return sizeof(t->ipv6);
}

/* p's flow as the lookups take it; its size, or 0 for a packet that opens a
 * connection or has no ports conntrack knows. */
static __always_inline __u32 conntrack_tuple(const struct pkt *p, struct bpf_sock_tuple *t)
{
	if (p->proto == IPPROTO_TCP ? ct_opening(p->tcp_flags) : p->proto != IPPROTO_UDP)
		return 0;
	return conntrack_tuple_of(t, p->family, p->saddr, p->daddr, p->sport, p->dport);
}

static __always_inline int dst_translated(struct nf_conn *ct)
{
	int translated;

	if (!ct)
		return 0;
	translated = (ct->status & IPS_DST_NAT) != 0;
	bpf_ct_release(ct);
	return translated;
}

/* Out of line, one per program type: their stack is not the callers'. */
static __noinline int xdp_conntrack_translated(struct xdp_md *ctx, const struct pkt *p)
{
	struct bpf_ct_opts opts = { .netns_id = BPF_F_CURRENT_NETNS, .l4proto = p->proto };
	struct bpf_sock_tuple t = {};
	__u32 size = conntrack_tuple(p, &t);

	if (!size || !conntrack_kfuncs())
		return 0;
	return dst_translated(bpf_xdp_ct_lookup(ctx, &t, size, &opts, sizeof(opts)));
}

static __noinline int skb_conntrack_translated(struct __sk_buff *ctx, const struct pkt *p)
{
	struct bpf_ct_opts opts = { .netns_id = BPF_F_CURRENT_NETNS, .l4proto = p->proto };
	struct bpf_sock_tuple t = {};
	__u32 size = conntrack_tuple(p, &t);

	if (!size || !conntrack_kfuncs())
		return 0;
	return dst_translated(bpf_skb_ct_lookup(ctx, &t, size, &opts, sizeof(opts)));
}

/* Does the node's conntrack hold p's flow with its destination translated? */
static __always_inline int node_conntrack_translated(void *ctx, enum kpr_ctx_kind kind, const struct pkt *p)
{
	return kind == KPR_CTX_XDP ? xdp_conntrack_translated(ctx, p) : skb_conntrack_translated(ctx, p);
}

#endif
