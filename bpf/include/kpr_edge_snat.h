/* snat mode: forward_snat() sends a client's packet to a backend on another
 * node as this node's, and snat_reply() turns the backend's reply back into
 * the frontend's, to the client; both on the flow state below.
 *
 * The backend sees this node as the client, on a source port of the flow's
 * own; kpr_edge_snat, keyed by the reply as it comes back (backend -> this
 * node, on that port), says whom it is for, and is the one record of the
 * flow's life (kpr_flow_lifetime.h): the client's packets reach it through
 * the port their flow's entry remembers, or kpr_edge_snat_ports, and
 * refresh it as the replies do (once a second: forward_snat()). Both maps are plain
 * hashes: an entry leaves only when its flow is over (a new flow takes its
 * port, or the agent's collector finds it expired), never to make room,
 * which would cut a live flow.
 *
 * Ports come from the configured ranges (edge_config.snat_ports: by default
 * 1024-65535 without the node's local port range, so that a reply to one of
 * its own connections is never taken for a client's; a connection of its own
 * on a closed flow's port is told by its SYN-ACK), skipping any port that
 * is a frontend on the node's address (a NodePort) and any port the node's
 * conntrack has a connection on with the flow's backend (one nf_nat moved
 * there, or one bound there: the backend could not tell the two apart). A
 * new flow tries first the port a hash of its client and backend names,
 * then ports at random: a flow whose entry another build of the programs has
 * not seen yet (maps being migrated, kpr_edge_snat written by the old
 * programs after the copy) thus gets its port again, and its connection goes
 * on. A port is free when no flow holds it, when its flow has expired, or
 * when its TCP flow has closed (KPR_CT_REUSE_S ago): releasing on close is
 * what lets one backend take thousands of new flows a second. */
#ifndef KPR_EDGE_SNAT_H
#define KPR_EDGE_SNAT_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "kpr_addr.h"
#include "kpr_edge_clock.h"
#include "kpr_edge_config.h"
#include "kpr_edge_maps.h"
#include "kpr_edge_verdict.h"
#include "kpr_flow_lifetime.h"
#include "kpr_hash.h"
#include "kpr_nat.h"
#include "kpr_node_conntrack.h"
#include "kpr_parse.h"

/* A port's takeover swaps seen_s, state and pad as one aligned 64-bit word. */
_Static_assert(__builtin_offsetof(struct edge_snat_val, seen_s) % 8 == 0, "seen_s starts a 64-bit word");
_Static_assert(sizeof(struct edge_snat_val) == __builtin_offsetof(struct edge_snat_val, seen_s) + 8,
	       "seen_s, state and pad end the value");

/* bpf_map_update_elem's answer when a preallocated hash is full. */
#define KPR_E2BIG 7

/* Claims of a new flow's port that may each find the node's connection on
 * it; the later ones start at random ports. Ports the node holds are free in
 * the snat map, so a crowded map sends claims to them more often than their
 * share: 20000 flows through 8000 ports beside 500 held ones dropped 9 flows
 * with 3 claims in one run, 1 with 8 in one of 7 runs. */
#define KPR_SNAT_CLAIMS 16

/* The kpr_edge_snat key of a backend's replies to node (an IPv4 node address
 * is 4 bytes long), but for the snat port. */
static __always_inline void snat_key(struct edge_snat_key *k, const struct pkt *p, const __u8 *backend,
				     const __u8 *node, __u16 backend_port)
{
	__builtin_memcpy(k->backend_addr, backend, 16);
	addr_copy(k->node_addr, node, p->family);
	k->backend_port = backend_port;
	k->proto = p->proto;
	k->family = p->family;
}

/* The kpr_edge_snat_ports key of a client's flow to a backend. */
static __always_inline void snat_client_key(struct edge_snat_port_key *k, const __u8 *client, __u16 client_port,
					    const struct edge_snat_key *rk)
{
	__builtin_memcpy(k->client_addr, client, 16);
	__builtin_memcpy(k->backend_addr, rk->backend_addr, 16);
	k->client_port = client_port;
	k->backend_port = rk->backend_port;
	k->proto = rk->proto;
	k->family = rk->family;
}

/* Whether the flow on port is p's client's: an entry of a build that kept the
 * client's port as the snat port says so with client_port 0. */
static __always_inline int snat_owned_by(const struct edge_snat_val *v, const struct pkt *p, __u16 port)
{
	return addr_equal(v->client_addr, p->saddr) && (v->client_port ? v->client_port : port) == p->sport;
}

/* The port of the configured ranges (network order) that the number r
 * picks; 0 when there are none. */
static __always_inline __u16 snat_port_of(const struct edge_config *cfg, __u32 r)
{
	__u32 n0 = cfg->snat_ports[0].count, n1 = cfg->snat_ports[1].count;

	if (n0 + n1 == 0)
		return 0;
	r %= n0 + n1;
	return bpf_htons(r < n0 ? cfg->snat_ports[0].min + r : cfg->snat_ports[1].min + (r - n0));
}

/* What picks a new flow's first port: its client and its backend. Out of
 * line: inlined, its temporaries took a new flow's frame past what the
 * chain of frames under it leaves. */
static __noinline __u32 snat_flow_hash(const struct edge_snat_key *k, const struct edge_snat_val *v)
{
	__u32 h = ((__u32)k->proto << 16) ^ k->backend_port;

	return hash_mix(hash_addr(hash_addr(h, v->client_addr), k->backend_addr) ^ v->client_port);
}

/* A port this node serves a frontend on: a snat flow on it would have its
 * replies taken for clients' requests. */
static __always_inline int snat_port_serves(const struct edge_snat_key *rk, __u16 port)
{
	struct edge_fe_key k = {};

	__builtin_memcpy(k.addr, rk->node_addr, 16);
	k.port = port;
	k.proto = rk->proto;
	k.family = rk->family;
	return bpf_map_lookup_elem(&kpr_edge_frontends, &k) != NULL;
}

/* An ended flow's client pointer to its port, gone unless that client's
 * flow has already moved to another port. old is the ended flow's entry as
 * it was read before it was taken over. */
static __always_inline void snat_release_client(const struct edge_snat_key *k, const struct edge_snat_val *old)
{
	struct edge_snat_port_key ck = {};
	const __u16 *port;

	snat_client_key(&ck, old->client_addr, old->client_port ? old->client_port : k->snat_port, k);
	port = bpf_map_lookup_elem(&kpr_edge_snat_ports, &ck);
	if (port && *port == k->snat_port)
		bpf_map_delete_elem(&kpr_edge_snat_ports, &ck);
}

/* What one try of snat_claim() works on; reason: 0 once a port is taken. */
struct snat_claim_ctx {
	const struct edge_config *cfg;
	struct edge_snat_key *k;
	const struct edge_snat_val *v;
	__u32 clock;
	__u32 first; /* picks the first try's port */
	int reason;
};

/* One try: the flow's own port first, then random ones, claimed by inserting
 * the flow's entry on it, or by taking the place of a flow that has ended.
 * Returns 1 to stop trying. */
static int snat_claim_try(__u32 i, void *data)
{
	struct snat_claim_ctx *c = data;
	struct edge_snat_key *k = c->k;
	struct edge_snat_val *held, ended;
	__u64 was, now;
	int err;

	k->snat_port = snat_port_of(c->cfg, i == 0 ? c->first : bpf_get_prandom_u32());
	if (!k->snat_port)
		return 1;
	if (snat_port_serves(k, k->snat_port))
		return 0;
	err = bpf_map_update_elem(&kpr_edge_snat, k, c->v, BPF_NOEXIST);
	if (err == -KPR_E2BIG) {
		c->reason = KPR_EDGE_DROP_SNAT_MAP_FULL;
		return 1;
	}
	if (err) {
		held = bpf_map_lookup_elem(&kpr_edge_snat, k);
		if (!held)
			return 0;
		ended = *held;
		if (!ct_reusable(&c->cfg->timeouts, k->proto, ended.state, ended.seen_s, c->clock))
			return 0;
		/* Taken over in place, by the one CPU whose compare-and-swap moves
		 * the entry's time and state on (one 64-bit word: seen_s, state
		 * and their padding; 32-bit atomics need ALU32 code): a delete and
		 * an insert would let a second CPU that judged the same ended flow
		 * delete the first one's new flow. A packet of the ended flow moves
		 * its time on too, and so keeps it. */
		__builtin_memcpy(&was, &ended.seen_s, sizeof(was));
		__builtin_memcpy(&now, &c->v->seen_s, sizeof(now));
		if (__sync_val_compare_and_swap((__u64 *)&held->seen_s, was, now) != was)
			return 0;
		*held = *c->v;
		snat_release_client(k, &ended);
	}
	c->reason = 0;
	return 1;
}

/* A new flow's port, in c->k->snat_port: inserting its entry c->v on a free
 * port (or one whose flow has ended) claims it, BPF_NOEXIST settling a race
 * between CPUs. The first try's port is the one c->first picks. Returns 0,
 * or the drop reason. The tries run in bpf_loop(): the verifier checks one
 * try, not each of them. */
static __always_inline int snat_claim(struct snat_claim_ctx *c)
{
	c->reason = KPR_EDGE_DROP_SNAT_NO_PORT;
	bpf_loop(KPR_SNAT_PORT_TRIES, snat_claim_try, c, 0);
	return c->reason;
}

/* snat_flow_port(): p's flow has no port yet (a new flow). */
#define KPR_SNAT_NEW_FLOW -1

/* p's flow keeps its entry v: its state refreshed, its frontend p's. */
static __always_inline void snat_flow_touch(struct edge_snat_val *v, const struct pkt *p, const struct edge_config *cfg,
					    __u32 svc_id)
{
	ct_touch(&v->seen_s, &v->state, cfg->clock_s, p->proto, p->tcp_flags, KPR_CT_FROM_CLIENT);
	/* A connection from the port of an ended one, to another frontend of a
	 * service with the same backend: its replies come from it. */
	if (v->frontend_port != p->dport || !addr_equal(v->frontend_addr, p->daddr)) {
		__builtin_memcpy(v->frontend_addr, p->daddr, 16);
		v->frontend_port = p->dport;
		v->svc_id = svc_id;
	}
}

/* The snat port (network order) of p's flow to backend b through this node,
 * its state refreshed. *port: on the way in, the port the flow's entry in
 * kpr_edge_flows remembers (0: none), tried first, which spares the lookup
 * of the client's pointer (at 16k flows, the two lookups took a quarter of
 * the CPU a packet costs). Returns 0 with the port in *port;
 * KPR_SNAT_NEW_FLOW with the new flow's records in the CPU's scratch, for
 * snat_new_flow(); or the reason to drop p. The two are BPF subprograms of
 * their own, called one after the other: the verifier gives a call chain 512
 * bytes of stack, and the path's frame, this one's and bpf_loop()'s would not
 * fit in one chain. */
static __noinline int snat_flow_port(const struct pkt *p, const struct edge_config *cfg, const struct edge_backend *b,
				     __u32 svc_id, __u16 *port)
{
	const __u8 *node = node_addr(cfg, p->family);
	struct edge_snat_scratch *s;
	struct edge_snat_val *v;
	const __u16 *given;
	__u32 zero = 0;

	s = bpf_map_lookup_elem(&kpr_edge_snat_scratch, &zero);
	if (!s)
		return KPR_EDGE_DROP_SNAT_NO_PORT;
	if (!node)
		return KPR_EDGE_DROP_NO_NODE_ADDRESS;
	__builtin_memset(s, 0, sizeof(*s));
	snat_key(&s->k, p, b->addr, node, b->port);
	/* Whichever way the port is found, the entry behind it must still be
	 * this flow's. */
	if (*port) {
		s->k.snat_port = *port;
		v = bpf_map_lookup_elem(&kpr_edge_snat, &s->k);
		if (v && snat_owned_by(v, p, *port)) {
			snat_flow_touch(v, p, cfg, svc_id);
			return 0;
		}
	}
	snat_client_key(&s->ck, p->saddr, p->sport, &s->k);
	given = bpf_map_lookup_elem(&kpr_edge_snat_ports, &s->ck);
	/* Its own port, or one of an older build that kept the client's. */
	s->k.snat_port = given ? *given : p->sport;
	v = bpf_map_lookup_elem(&kpr_edge_snat, &s->k);
	if (v && snat_owned_by(v, p, s->k.snat_port)) {
		snat_flow_touch(v, p, cfg, svc_id);
		if (!given)
			bpf_map_update_elem(&kpr_edge_snat_ports, &s->ck, &s->k.snat_port, BPF_ANY);
		*port = s->k.snat_port;
		return 0;
	}

	__builtin_memcpy(s->v.client_addr, p->saddr, 16);
	__builtin_memcpy(s->v.frontend_addr, p->daddr, 16);
	s->v.frontend_port = p->dport;
	s->v.client_port = p->sport;
	s->v.svc_id = svc_id;
	s->v.seen_s = edge_clock_advance(bpf_ktime_get_coarse_ns());
	s->v.state = ct_next_state(0, p->proto, p->tcp_flags, KPR_CT_FROM_CLIENT);
	return KPR_SNAT_NEW_FLOW;
}

/* Does the node's conntrack have a connection of its own on k's port with
 * k's backend? Its replies would match k's entry. Out of line: the claim's
 * chain of frames has no room for the lookup's. */
static __noinline int snat_port_held_by_node(struct xdp_md *ctx, const struct edge_snat_key *k)
{
	struct bpf_ct_opts opts = { .netns_id = BPF_F_CURRENT_NETNS, .l4proto = k->proto };
	struct bpf_sock_tuple t = {};
	__u32 size = conntrack_tuple_of(&t, k->family, k->backend_addr, k->node_addr, k->backend_port, k->snat_port);
	struct nf_conn *ct;

	if (!conntrack_kfuncs())
		return 0;
	ct = bpf_xdp_ct_lookup(ctx, &t, size, &opts, sizeof(opts));
	if (!ct)
		return 0;
	bpf_ct_release(ct);
	return 1;
}

/* A port for the new flow snat_flow_port() left in the scratch: its entry
 * claims one, and its client's pointer names it. A port the node turns out
 * to have a connection on with the backend is given back at once, before
 * any packet used it. Returns 0 with the port in *port, or the reason to
 * drop the packet. A global function: the verifier checks it once, on its
 * own (so its pointers may be NULL), where a static one is checked again
 * for every path that reaches it; static, it took kpr_xdp_lb to 970k of
 * the verifier's million instructions, global 414k. */
__noinline int snat_new_flow(struct xdp_md *ctx, const struct edge_config *cfg, __u16 *port)
{
	struct snat_claim_ctx c = { .cfg = cfg };
	struct edge_snat_scratch *s;
	__u32 zero = 0;
	int err;

	s = bpf_map_lookup_elem(&kpr_edge_snat_scratch, &zero);
	if (!s || !cfg || !port)
		return KPR_EDGE_DROP_SNAT_NO_PORT;
	/* One context for every claim: what each would keep apart of its own
	 * would not fit the chain of frames beside the lookup's. */
	c.k = &s->k;
	c.v = &s->v;
	c.clock = s->v.seen_s;
	c.first = snat_flow_hash(&s->k, &s->v);
	for (int i = 0; i < KPR_SNAT_CLAIMS; i++) {
		err = snat_claim(&c);
		if (err || !snat_port_held_by_node(ctx, &s->k))
			break;
		bpf_map_delete_elem(&kpr_edge_snat, &s->k);
		c.first = bpf_get_prandom_u32();
		err = KPR_EDGE_DROP_SNAT_NO_PORT;
	}
	if (err)
		return err;
	*port = s->k.snat_port;
	if (bpf_map_update_elem(&kpr_edge_snat_ports, &s->ck, &s->k.snat_port, BPF_ANY)) {
		bpf_map_delete_elem(&kpr_edge_snat, &s->k);
		return KPR_EDGE_DROP_SNAT_MAP_FULL;
	}
	return 0;
}

/* A SYN-ACK to the port of a closed snat flow answers no flow of kpr's (a
 * client opening again on its ports sends a SYN first, which starts the
 * entry over): it answers a connection of the node's own that has the same
 * ports on the wire. The node binds ports outside its local range when told
 * to, and nf_nat, given no range, moves a connection whose tuple clashes to
 * any port in 1024-65535 (during a migration, where an old proxy's
 * masquerade makes such clashes common, the agent's inherited NAT table
 * gives it the local range: lib/host/inherited_nat.ts). */
static __always_inline int snat_port_taken_by_node(const struct pkt *p, const struct edge_snat_val *v)
{
	return p->l4_valid && ct_accepting(p->tcp_flags) && ct_closed(p->proto, v->state);
}

/* The kpr_edge_snat key of a backend's reply p (to this node's address, on a snat port). */
static __always_inline void snat_reply_key(struct edge_snat_key *k, const struct pkt *p)
{
	snat_key(k, p, p->saddr, p->daddr, p->sport);
	k->snat_port = p->dport;
}

/* The snat flow v, which a backend's packet p answers, no longer trusted
 * with its port by its client's packets (forward_snat()): the next of them
 * meets its entry. */
static __noinline void snat_flow_unchecked(const struct pkt *p, const struct edge_snat_val *v)
{
	struct edge_flow_val *fv;

	fv = flow_entry(p->family, v->client_addr, v->client_port ? v->client_port : p->dport, p->proto, v->svc_id);
	if (fv)
		fv->snat_checked_s = 0;
}

/* The flow a backend's reply p belongs to, refreshed; NULL when it is no
 * snat flow's. A reply that moves the flow's state on (the first, or a
 * FIN) has the client's next packet meet the entry, and bring what it shows
 * of the state (a UDP flow's stream) at once. */
static __always_inline struct edge_snat_val *snat_reply_flow(const struct pkt *p)
{
	struct edge_snat_key k = {};
	struct edge_snat_val *v;
	__u8 state;

	snat_reply_key(&k, p);
	v = bpf_map_lookup_elem(&kpr_edge_snat, &k);
	if (v && p->l4_valid) {
		state = v->state;
		ct_touch(&v->seen_s, &v->state, edge_clock(), p->proto, p->tcp_flags, KPR_CT_FROM_BACKEND);
		if (v->state != state)
			snat_flow_unchecked(p, v);
	}
	return v;
}

/* The closed flow v, whose port (p's) the node's own connection has taken,
 * gone with its client's pointer, and its client's late packets no longer
 * trusted with the port: the rest of that connection reaches the stack too.
 * A subprogram of its own: the reply path's frame has no room for its keys. */
static __noinline void snat_forget_flow(const struct pkt *p, const struct edge_snat_val *v)
{
	struct edge_snat_key k = {};

	snat_reply_key(&k, p);
	snat_release_client(&k, v);
	snat_flow_unchecked(p, v);
	bpf_map_delete_elem(&kpr_edge_snat, &k);
}

/* Into p's flow's entry in kpr_edge_flows, for its next packets: port (0:
 * none), found to be the flow's at clock second checked_s (0: not), for p's
 * frontend. Out of line, and with a lookup of its own: a pointer to the
 * entry held from the backend's choice until here made the verifier walk
 * the path once per map the entry may be in, past its limit. */
static __noinline void flow_snat_checked(const struct pkt *p, __u32 svc_id, __u16 port, __u32 checked_s)
{
	struct edge_flow_val *v = flow_lookup(p, svc_id);

	if (!v)
		return;
	v->snat_port = port;
	__builtin_memcpy(v->snat_frontend_addr, p->daddr, 16);
	v->snat_frontend_port = p->dport;
	/* Last: where stores keep their order (x86), another CPU that sees this
	 * second here sees the port too. */
	v->snat_checked_s = checked_s;
}

/* The backend sees this node as the client, on a port of the flow's own,
 * which its reply comes back to. The port's entry is looked up, and
 * refreshed, by the flow's first packet of each clock second to each
 * frontend and by any that moves its state on; the rest of that second's
 * packets take the port as it was found, which spares each the lookup that
 * took a third of the path's time at 16k flows. No other flow can have
 * taken the port in between: a port changes hands only once its flow has
 * been idle past its timeout, or KPR_CT_REUSE_S seconds after it closed
 * (kpr_flow_lifetime.h), and the entry's time is as fresh as the clock's
 * second. A packet after a reply that moved the entry's state on
 * (snat_reply_flow()) looks too, so the entry's state is always what the
 * packets of both sides made it. */
static __always_inline int forward_snat(struct xdp_md *ctx, struct pkt *p, const struct edge_config *cfg,
					const __u8 *src, const struct edge_backend *b, __u32 svc_id,
					const struct remembered_snat *r)
{
	__u16 port = r->port;
	int reason;

	if (!r->port || r->stale) {
		reason = snat_flow_port(p, cfg, b, svc_id, &port);
		if (reason == KPR_SNAT_NEW_FLOW)
			reason = snat_new_flow(ctx, cfg, &port);
		/* A port not found for the flow is trusted no more. */
		flow_snat_checked(p, svc_id, reason ? 0 : port, reason ? 0 : cfg->clock_s);
		if (reason)
			return drop(reason);
	}
	reason = nat_rewrite(ctx, p, NAT_SRC, src, port);
	if (!reason)
		reason = nat_rewrite(ctx, p, NAT_DST, b->addr, b->port);
	if (reason)
		return nat_refused(reason);
	return forward_to_backend(ctx, p->family);
}

/* snat mode, the way back: a backend's reply to this node, on a snat port,
 * becomes the frontend's reply to the client. Only packets for this node's
 * own address can be one, so others skip the table. */
static __always_inline int snat_reply(struct xdp_md *ctx, struct pkt *p)
{
	const struct edge_snat_val *v;
	const struct edge_config *cfg;
	const __u8 *node;
	struct edge_snat_val sv;
	__u8 want[16] = {};
	int err;

	cfg = edge_config();
	if (!cfg)
		return -1;
	node = node_addr(cfg, p->family);
	if (!node)
		return -1;
	addr_copy(want, node, p->family);
	if (!addr_equal(want, p->daddr))
		return -1;

	v = snat_reply_flow(p);
	if (!v)
		return -1;
	if (snat_port_taken_by_node(p, v)) {
		snat_forget_flow(p, v);
		return -1;
	}
	if (!p->l4_valid)
		return drop(KPR_EDGE_DROP_INVALID_PACKET);
	sv = *v;
	err = nat_rewrite(ctx, p, NAT_SRC, sv.frontend_addr, sv.frontend_port);
	if (!err)
		err = nat_rewrite(ctx, p, NAT_DST, sv.client_addr, sv.client_port ? sv.client_port : p->dport);
	if (err)
		return nat_refused(err);
	return forward_fib(ctx, p->family);
}

#endif
