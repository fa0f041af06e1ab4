/* Backend choice of the edge LB, in order: the flow's own backend (so an
 * established connection survives a table change), the client's affinity
 * backend, then a fresh pick from the service's Maglev table. A remembered
 * backend counts only while it still exists for this same service. A flow's
 * entry lives as long as the flow (kpr_flow_lifetime.h): the client's
 * packets refresh it, and a client that opens a new connection on the ports
 * of one that it reset or closed gets a fresh pick. */
#ifndef KPR_EDGE_SELECT_H
#define KPR_EDGE_SELECT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_edge_clock.h"
#include "kpr_flow_lifetime.h"
#include "kpr_parse.h"
#include "kpr_edge_maps.h"
#include "kpr_hash.h"
#include "kpr_node_conntrack.h"

/* Over the client's side only (source address and port, protocol): the
 * destination is the same for every client of a frontend and adds nothing. */
static __always_inline __u32 flow_hash(const struct pkt *p, __u32 seed)
{
	return hash_mix(hash_addr(seed, p->saddr) ^ p->sport ^ ((__u32)p->proto << 16));
}

static __always_inline struct edge_backend *backend_of(__u32 id, __u32 svc_id)
{
	struct edge_backend *b = bpf_map_lookup_elem(&kpr_edge_backends, &id);

	return b && b->svc_id == svc_id ? b : NULL;
}

/* A remembered backend, while it still exists for this service. */
static __always_inline struct edge_backend *stuck_backend(__u32 backend_id, __u32 svc_id, __u32 *id)
{
	struct edge_backend *b = backend_of(backend_id, svc_id);

	if (b)
		*id = backend_id;
	return b;
}

static __always_inline struct edge_backend *table_backend(const struct pkt *p, const struct edge_fe_val *fe,
							  __u32 *id)
{
	const struct edge_config *cfg;
	__u32 svc_id = fe->svc_id, slot, *bid;
	void *table;

	cfg = edge_config();
	if (!cfg || !cfg->maglev_size)
		return NULL;
	table = bpf_map_lookup_elem(&kpr_edge_maglev, &svc_id);
	if (!table)
		return NULL;
	slot = fe->flags & KPR_EDGE_F_RANDOM ? bpf_get_prandom_u32() : flow_hash(p, cfg->hash_seed);
	slot %= cfg->maglev_size;
	bid = bpf_map_lookup_elem(table, &slot);
	if (!bid)
		return NULL;
	*id = *bid;
	return backend_of(*bid, svc_id);
}

/* The entry of the flow from saddr:sport (proto, family) to service svc_id
 * in the table of its family, or NULL. A lookup of its own for each table,
 * key built twice: the verifier inlines a hash lookup only at a call that
 * one map reaches, and one call for both tables (a key builder returning
 * the family's table) cost a balanced packet 25 ns more in
 * BPF_PROG_TEST_RUN, alternating builds (136 against 161 ns). */
static __always_inline struct edge_flow_val *flow_entry(__u8 family, const __u8 *saddr, __u16 sport, __u8 proto,
							 __u32 svc_id)
{
	if (family == KPR_AF_INET) {
		struct edge_flow_key4 k = { .svc_id = svc_id, .sport = sport, .proto = proto };

		__builtin_memcpy(k.saddr, saddr, 4);
		return bpf_map_lookup_elem(&kpr_edge_flows4, &k);
	} else {
		struct edge_flow_key6 k = { .svc_id = svc_id, .sport = sport, .proto = proto };

		__builtin_memcpy(k.saddr, saddr, 16);
		return bpf_map_lookup_elem(&kpr_edge_flows6, &k);
	}
}

/* p's flow's entry, or NULL. */
static __always_inline struct edge_flow_val *flow_lookup(const struct pkt *p, __u32 svc_id)
{
	return flow_entry(p->family, p->saddr, p->sport, p->proto, svc_id);
}

static __always_inline void flow_remember(const struct pkt *p, __u32 svc_id, const struct edge_flow_val *v)
{
	if (p->family == KPR_AF_INET) {
		struct edge_flow_key4 k = { .svc_id = svc_id, .sport = p->sport, .proto = p->proto };

		__builtin_memcpy(k.saddr, p->saddr, 4);
		bpf_map_update_elem(&kpr_edge_flows4, &k, v, BPF_ANY);
	} else {
		struct edge_flow_key6 k = { .svc_id = svc_id, .sport = p->sport, .proto = p->proto };

		__builtin_memcpy(k.saddr, p->saddr, 16);
		bpf_map_update_elem(&kpr_edge_flows6, &k, v, BPF_ANY);
	}
}

/* A client opening a connection on the ports of a flow it reset or closed.
 * (One that expired is gone: the collector deleted it.) */
static __always_inline int flow_restarts(const struct edge_flow_val *v, const struct pkt *p)
{
	return p->proto == IPPROTO_TCP && ct_opening(p->tcp_flags) && (v->state & (KPR_CT_RST | KPR_CT_FIN_CLIENT));
}

static __always_inline void count_flow_miss(void)
{
	count_one(&kpr_edge_flow_misses, 0);
}

/* What a flow's entry remembers of its snat port (kpr_edge_snat.h). */
struct remembered_snat {
	__u16 port;  /* network order; 0: none */
	/* 0 when the port was found to be the flow's in this clock second,
	 * for p's frontend, and p moved the flow's state no further */
	__u32 stale;
};

/* remembered_snat.stale of entry v for p at clock second clock (v's state
 * was state_before before p). Without a branch: a flag set on one path and clear
 * on another would have the verifier walk every path after the backend's
 * choice twice. */
static __always_inline __u32 snat_staleness(const struct edge_flow_val *v, __u8 state_before, const struct pkt *p,
					    __u32 clock)
{
	__u32 a[4], d[4];

	__builtin_memcpy(a, v->snat_frontend_addr, 16);
	__builtin_memcpy(d, p->daddr, 16);
	return (v->snat_checked_s ^ clock) | (__u32)(v->snat_frontend_port ^ p->dport) | (a[0] ^ d[0]) | (a[1] ^ d[1]) |
	       (a[2] ^ d[2]) | (a[3] ^ d[3]) | (__u32)(v->state ^ state_before);
}

/* *how: enum kpr_pick (KPR_PICK_FLOW: a flow this node already had a
 * backend for; KPR_PICK_NODE_CONNTRACK, with NULL: a flow to leave to the
 * stack); *backend_id: the one chosen; *refreshed: the flow's entry took a
 * new second for this packet; *snat (may be NULL): what that entry
 * remembers of its snat port when the backend is the one it held, else
 * nothing. ctx, of kind: the program's context. */
static __always_inline struct edge_backend *select_backend(void *ctx, enum kpr_ctx_kind kind, const struct pkt *p,
							   const struct edge_fe_val *fe, __u8 *how, __u32 *backend_id,
							   int *refreshed, struct remembered_snat *snat)
{
	struct edge_affinity_key ak = {};
	struct edge_stick_val *sv, av = {};
	struct edge_flow_val *fv, nv = {};
	struct edge_backend *b = NULL;
	int affinity = fe->flags & KPR_EDGE_F_AFFINITY;
	__u32 id = 0, clock;
	__u8 state;
	__u64 now;

	fv = flow_lookup(p, fe->svc_id);
	if (fv && !flow_restarts(fv, p))
		b = stuck_backend(fv->backend_id, fe->svc_id, &id);
	*backend_id = id;
	*how = KPR_PICK_FLOW;
	if (b) {
		clock = edge_clock();
		state = fv->state;
		*refreshed = fv->seen_s != clock;
		ct_touch(&fv->seen_s, &fv->state, clock, p->proto, p->tcp_flags, KPR_CT_FROM_CLIENT);
		if (snat) {
			snat->port = fv->snat_port;
			snat->stale = snat_staleness(fv, state, p, clock);
		}
		return b;
	}
	count_flow_miss();
	if (node_conntrack_translated(ctx, kind, p)) {
		*how = KPR_PICK_NODE_CONNTRACK;
		return NULL;
	}

	/* Jiffy resolution is plenty for timeouts of seconds. */
	now = bpf_ktime_get_coarse_ns();
	if (affinity) {
		__builtin_memcpy(ak.addr, p->saddr, 16);
		ak.svc_id = fe->svc_id;
		ak.family = p->family;
		sv = bpf_map_lookup_elem(&kpr_edge_affinity, &ak);
		/* Signed: another CPU may have stamped a later time than this one read. */
		if (sv && (__s64)(now - sv->last_seen_ns) <= (__s64)fe->affinity_timeout * (__s64)KPR_NSEC_PER_SEC)
			b = stuck_backend(sv->backend_id, fe->svc_id, &id);
		*how = KPR_PICK_AFFINITY;
	}
	if (!b) {
		b = table_backend(p, fe, &id);
		*how = fe->flags & KPR_EDGE_F_RANDOM ? KPR_PICK_RANDOM : KPR_PICK_MAGLEV;
	}
	*backend_id = id;
	if (!b)
		return NULL;

	if (affinity) {
		av.last_seen_ns = now;
		av.backend_id = id;
		bpf_map_update_elem(&kpr_edge_affinity, &ak, &av, BPF_ANY);
	}
	nv.backend_id = id;
	nv.seen_s = edge_clock_advance(now);
	nv.state = ct_next_state(0, p->proto, p->tcp_flags, KPR_CT_FROM_CLIENT);
	flow_remember(p, fe->svc_id, &nv);
	return b;
}

#endif
