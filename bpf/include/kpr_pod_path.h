/* The per-packet path: the edge LB's choice applied where a pod's packets
 * enter the node (tc ingress on the host side of its interface), for the
 * packets no socket hook translated: pods whose connections keep the service
 * address (the socket-LB bypass, meshes that read the original
 * destination), and VMs and sandboxes whose guest kernels the node's socket
 * hooks never see.
 *
 * A packet for a frontend of the pods' view (KPR_EDGE_FE_POD) gets a
 * backend as the edge LB picks one (kpr_edge_select.h: flow table, ClientIP
 * affinity, Maglev or random), its destination rewritten, and then goes
 * where the node routes the backend's address, on this node or another. Its
 * replies come back through the same interface, whose tc egress
 * (kpr_tc_dsr_egress) gives them the frontend's address again from
 * kpr_edge_revnat: the flow's state is the edge LB's, aged and collected as
 * its is. Nothing else changes, so the path needs nothing of the CNI but
 * that pods' packets cross an interface of the node. A pod that picks itself
 * gets its packet straight back (pod_hairpin). */
#ifndef KPR_POD_PATH_H
#define KPR_POD_PATH_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_edge_frag.h"
#include "kpr_edge_maps.h"
#include "kpr_edge_revnat.h"
#include "kpr_edge_select.h"
#include "kpr_skb_nat.h"
#include "kpr_tc_verdict.h"

/* The source a pod sees its own connection through a frontend come from
 * when it is its own backend (hairpin): were it its own address, its stack
 * would drop the packet as one of its own coming back. Never a real peer:
 * IPv4's is link-local (Cilium's service loopback address), IPv6's in the
 * discard-only prefix (RFC 6666); both reach the node by the pod's default
 * route, and never go further: the path sends them straight back. */
static const __u8 hairpin4[16] = { 169, 254, 42, 1 };
static const __u8 hairpin6[16] = { 0x01, 0x00, [13] = 0x42, [15] = 0x01 };

static __always_inline const __u8 *hairpin_addr(const struct pkt *p)
{
	return p->family == KPR_AF_INET ? hairpin4 : hairpin6;
}

/* Back out of the interface the packet came in by, to the pod, with the
 * Ethernet addresses turned round. */
static __always_inline int back_to_pod(struct __sk_buff *skb)
{
	__u8 macs[12], swapped[12];

	if (bpf_skb_load_bytes(skb, 0, macs, 12))
		return shot(KPR_EDGE_DROP_REVNAT_FAILED);
	__builtin_memcpy(swapped, macs + 6, 6);
	__builtin_memcpy(swapped + 6, macs, 6);
	if (bpf_skb_store_bytes(skb, 0, swapped, 12, 0))
		return shot(KPR_EDGE_DROP_REVNAT_FAILED);
	return bpf_redirect(skb->ifindex, 0);
}

/* A pod that picked itself: its packet comes back to it from the hairpin
 * address, on the client's own port, and what the replies need is kept as
 * any flow's (backend = the pod, client = the hairpin address). */
static __always_inline int pod_hairpin(struct __sk_buff *skb, struct pkt *p, const struct edge_backend *b, int new_flow,
				       int refreshed)
{
	const __u8 *hairpin = hairpin_addr(p);
	struct pkt q = *p;

	if (p->frag)
		return shot(KPR_EDGE_DROP_REVNAT_FAILED); /* fragments of a hairpin flow are not followed */
	if (skb_nat_rewrite(skb, p, NAT_DST, b->addr, b->port) || skb_nat_rewrite(skb, p, NAT_SRC, hairpin, p->sport))
		return shot(KPR_EDGE_DROP_REVNAT_FAILED);
	__builtin_memcpy(q.saddr, hairpin, 16);
	__builtin_memcpy(q.daddr, b->addr, 16);
	q.dport = b->port;
	revnat_note(&q, p->daddr, p->dport, new_flow, refreshed);
	return back_to_pod(skb);
}

/* A pod's reply to the hairpin address: from the frontend, to the pod's own
 * port, back to it. Anything else for that address is dropped. */
static __always_inline int pod_hairpin_reply(struct __sk_buff *skb, const struct pkt *p)
{
	const struct edge_revnat_val *v = revnat_lookup(p);
	struct edge_revnat_val fe;

	if (!v || p->frag)
		return shot(KPR_EDGE_DROP_REVNAT_FAILED);
	fe = *v;
	if (skb_nat_rewrite(skb, p, NAT_SRC, fe.frontend_addr, fe.frontend_port) || skb_nat_rewrite(skb, p, NAT_DST, p->saddr, p->dport))
		return shot(KPR_EDGE_DROP_REVNAT_FAILED);
	return back_to_pod(skb);
}

static __always_inline const struct edge_fe_val *pod_frontend(const struct pkt *p)
{
	struct edge_fe_key k = {};

	__builtin_memcpy(k.addr, p->daddr, 16);
	k.port = p->dport;
	k.proto = p->proto;
	k.family = p->family | KPR_EDGE_FE_POD;
	return bpf_map_lookup_elem(&kpr_edge_frontends, &k);
}

/* A later fragment of a datagram whose first went to a backend: the same
 * destination, and nothing at L4, which it does not carry. Any other is
 * left alone: a pod's packets are its own business until one is kpr's. */
static __always_inline int pod_fragment(struct __sk_buff *skb, const struct pkt *p)
{
	const struct edge_frag_val *v = frag_lookup(p);
	__s64 diff;

	if (!v || v->action != KPR_FRAG_LOCAL)
		return TC_ACT_OK;
	return skb_set_addr(skb, p, NAT_DST, v->daddr, &diff) ? shot(KPR_EDGE_DROP_REVNAT_FAILED) : TC_ACT_OK;
}

/* A pod's packet for a frontend of the pods' view: to a backend. Without a
 * backend the packet is dropped (counted as no_service_backend): a reject
 * built at tc is yet to come. */
static __always_inline int pod_balance(struct __sk_buff *skb, struct pkt *p, const struct edge_fe_val *fe)
{
	struct edge_fe_val svc = *fe;
	struct edge_backend *b;
	__u32 backend_id = 0;
	__u8 fe_addr[16];
	__u16 fe_port;
	int refreshed = 0;
	__u8 how = 0;
	int err;

	count_service_packet(svc.svc_id, skb->len);
	if (svc.count == 0)
		return shot(KPR_EDGE_DROP_NO_SERVICE_BACKEND);
	b = select_backend(skb, KPR_CTX_SKB, p, &svc, &how, &backend_id, &refreshed, NULL);
	if (!b)
		return how == KPR_PICK_NODE_CONNTRACK ? TC_ACT_OK : shot(KPR_EDGE_DROP_BACKEND_MISSING);
	if (b->family != p->family)
		return shot(KPR_EDGE_DROP_UNSUPPORTED_L3);
	if (addr_equal(b->addr, p->saddr))
		return pod_hairpin(skb, p, b, how != KPR_PICK_FLOW, refreshed);
	err = skb_nat_rewrite(skb, p, NAT_DST, b->addr, b->port);
	if (err)
		return shot(err == NAT_SCTP_FRAGMENT ? KPR_EDGE_DROP_SCTP_FRAGMENT : KPR_EDGE_DROP_REVNAT_FAILED);
	if (p->frag == KPR_FRAG_FIRST)
		frag_remember(p, KPR_FRAG_LOCAL, p->saddr, b->addr);
	__builtin_memcpy(fe_addr, p->daddr, 16);
	fe_port = p->dport;
	__builtin_memcpy(p->daddr, b->addr, 16);
	p->dport = b->port;
	revnat_note(p, fe_addr, fe_port, how != KPR_PICK_FLOW, refreshed);
	return TC_ACT_OK;
}

/* A pod's packet, parsed. */
static __always_inline int pod_path(struct __sk_buff *skb, struct pkt *p)
{
	const struct edge_fe_val *fe;

	if (p->frag == KPR_FRAG_LATER)
		return pod_fragment(skb, p);
	if (!p->l4_valid)
		return TC_ACT_OK;
	fe = pod_frontend(p);
	if (fe)
		return pod_balance(skb, p, fe);
	if (addr_equal(p->daddr, hairpin_addr(p)))
		return pod_hairpin_reply(skb, p);
	/* The pod may connect to a backend itself from a port an earlier
	 * connection through a frontend used (its socket LB translating it
	 * again, or its own choice). */
	if (p->proto == IPPROTO_TCP && ct_opening(p->tcp_flags))
		revnat_forget(p);
	return TC_ACT_OK;
}

#endif
