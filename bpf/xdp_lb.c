// SPDX-License-Identifier: GPL-2.0
/* XDP edge load balancer: packets from outside the node for a NodePort,
 * LoadBalancer IP or ExternalIP are balanced in the driver. A backend on this
 * node gets the destination rewritten and goes up the stack (tc_dsr.c turns
 * its replies back into the frontend's); a backend on another node is
 * reached by DSR (the client's packet tunnelled to that node, which answers
 * the client directly) or, in snat mode, by rewriting both ends so that the
 * reply comes back through this node, where it is turned back here too.
 * A datagram in fragments is balanced by its first fragment, and its later
 * fragments follow it (kpr_edge_frag.h). Anything else leaves exactly as it
 * came. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_xdp_maps.h"
#include "kpr_parse.h"
#include "kpr_nat.h"
#include "kpr_encap.h"
#include "kpr_fib.h"
#include "kpr_reject.h"
#include "kpr_edge_select.h"
#include "kpr_edge_revnat.h"
#include "kpr_edge_frag.h"
#include "kpr_trace.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline int drop(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&kpr_xdp_drops, &reason);

	if (c)
		*c += 1;
	note_drop(reason);
	return XDP_DROP;
}

static __always_inline void count_packet(struct xdp_md *ctx, __u32 svc_id)
{
	struct edge_stats *s = bpf_map_lookup_elem(&kpr_edge_stats, &svc_id);

	if (s) {
		s->packets += 1;
		s->bytes += ctx->data_end - ctx->data;
	}
}

static __always_inline const struct edge_fe_val *lookup_frontend(const struct pkt *p)
{
	struct edge_fe_key k = {};

	__builtin_memcpy(k.addr, p->daddr, 16);
	k.port = p->dport;
	k.proto = p->proto;
	k.family = p->family;
	return bpf_map_lookup_elem(&kpr_edge_frontends, &k);
}

static __always_inline int source_allowed(const struct pkt *p, __u32 svc_id)
{
	struct edge_src_range_key k = {};

	k.prefixlen = KPR_EDGE_SRC_RANGE_FIXED_BITS + (p->family == KPR_AF_INET ? 32 : 128);
	k.svc_id = svc_id;
	k.family = p->family;
	__builtin_memcpy(k.addr, p->saddr, 16);
	return bpf_map_lookup_elem(&kpr_edge_source_ranges, &k) != NULL;
}

static __always_inline int no_backend(struct xdp_md *ctx, const struct pkt *p, __u16 flags)
{
	int action;

	if (flags & KPR_EDGE_F_DROP_NO_BACKEND)
		return drop(KPR_XDP_DROP_NO_SERVICE_BACKEND);
	action = p->proto == IPPROTO_TCP ? reject_tcp(ctx, p) : reject_udp(ctx, p);
	if (action < 0)
		return drop(KPR_XDP_DROP_RESIZE_FAILED);
	drop(KPR_XDP_DROP_NO_SERVICE_BACKEND); /* counted like a drop: the socket LB counts rejects too */
	return action;
}

static __always_inline int addr_is_zero(const __u8 *a)
{
	__u64 w[2];

	__builtin_memcpy(w, a, 16);
	return (w[0] | w[1]) == 0;
}

/* This node's address of the packet's family, or NULL when it has none. */
static __always_inline const __u8 *node_addr(const struct edge_config *cfg, __u8 family)
{
	__u32 v4;

	if (family == KPR_AF_INET6)
		return addr_is_zero(cfg->node_addr6) ? NULL : cfg->node_addr6;
	__builtin_memcpy(&v4, cfg->node_addr4, 4);
	return v4 ? cfg->node_addr4 : NULL;
}

/* This node's address of the family, or NULL when it has none. */
static __always_inline const __u8 *this_node(__u8 family)
{
	const struct edge_config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&kpr_xdp_config, &zero);
	return cfg ? node_addr(cfg, family) : NULL;
}

static __always_inline int forward_fib(struct xdp_md *ctx, __u8 family)
{
	int action = fib_forward(ctx, family);

	return action < 0 ? drop(KPR_XDP_DROP_FIB_LOOKUP_FAILED) : action;
}

/* p, already addressed to its backend, in kpr's tunnel from src to node,
 * naming the frontend for that node (kpr_encap.h). */
static __always_inline int tunnel(struct xdp_md *ctx, const struct pkt *p, const __u8 *src, const __u8 *node,
				  const __u8 *fe_addr, __u16 fe_port)
{
	int err = p->family == KPR_AF_INET ? encap_ipip(ctx, p, src, node, fe_addr, fe_port)
					   : encap_ip6ip6(ctx, p, src, node, fe_addr, fe_port);

	return err ? drop(KPR_XDP_DROP_RESIZE_FAILED) : forward_fib(ctx, p->family);
}

/* The inner packet goes to the backend itself; the tunnel names the
 * frontend for the backend's node. */
static __always_inline int forward_dsr(struct xdp_md *ctx, struct pkt *p, const __u8 *src,
				       const struct edge_backend *b)
{
	__u8 fe_addr[16];
	__u16 fe_port = p->dport;

	__builtin_memcpy(fe_addr, p->daddr, 16);
	if (nat_rewrite(ctx, p, NAT_DST, b->addr, b->port))
		return drop(KPR_XDP_DROP_INVALID_PACKET);
	return tunnel(ctx, p, src, b->node_addr, fe_addr, fe_port);
}

/* A backend on this node: the stack delivers the packet; its replies leave
 * through tc_dsr.c, which needs to know the frontend. That is written once
 * per flow: a map update on every packet would cost more than all the rest.
 * Both tables are LRUs of the same size, and tc's lookups keep the entry of
 * a flow that is still answered fresh. */
static __always_inline int forward_local(struct xdp_md *ctx, struct pkt *p, const struct edge_backend *b,
					 int new_flow)
{
	__u8 fe_addr[16];
	__u16 fe_port = p->dport;

	__builtin_memcpy(fe_addr, p->daddr, 16);
	if (nat_rewrite(ctx, p, NAT_DST, b->addr, b->port))
		return drop(KPR_XDP_DROP_INVALID_PACKET);
	if (new_flow)
		revnat_remember(p, fe_addr, fe_port);
	return XDP_PASS;
}

static __always_inline int same_addr(const __u8 *a, const __u8 *b)
{
	__u64 x[2], y[2];

	__builtin_memcpy(x, a, 16);
	__builtin_memcpy(y, b, 16);
	return x[0] == y[0] && x[1] == y[1];
}

/* The kpr_edge_snat key of a backend's replies to node (an IPv4 node address
 * is 4 bytes long), but for the snat port. */
static __always_inline void snat_key(struct edge_snat_key *k, const struct pkt *p, const __u8 *backend,
				     const __u8 *node, __u16 backend_port)
{
	__builtin_memcpy(k->backend_addr, backend, 16);
	if (p->family == KPR_AF_INET)
		__builtin_memcpy(k->node_addr, node, 4);
	else
		__builtin_memcpy(k->node_addr, node, 16);
	k->backend_port = backend_port;
	k->proto = p->proto;
	k->family = p->family;
}

/* How many free snat ports a new flow looks for before it is dropped. */
#define KPR_SNAT_PORT_TRIES 32

/* The snat port of the flow (network byte order): the one it was given, or a
 * free one, taken by inserting the reverse entry v for it. 0: none free. */
static __always_inline __u16 snat_port(const struct pkt *p, const __u8 *src, const struct edge_backend *b,
				       const struct edge_snat_val *v)
{
	struct edge_snat_port_key fk = {};
	const struct edge_snat_val *kept;
	struct edge_snat_key k = {};
	const __u16 *given;
	__u32 start, i;
	__u16 port;

	__builtin_memcpy(fk.client_addr, p->saddr, 16);
	__builtin_memcpy(fk.backend_addr, b->addr, 16);
	fk.client_port = p->sport;
	fk.backend_port = b->port;
	fk.proto = p->proto;
	fk.family = p->family;
	given = bpf_map_lookup_elem(&kpr_edge_snat_ports, &fk);
	if (given)
		return *given;

	snat_key(&k, p, b->addr, src, b->port);
	/* A flow of an older build, which kept the client's port: it keeps it. */
	k.snat_port = p->sport;
	kept = bpf_map_lookup_elem(&kpr_edge_snat, &k);
	if (kept && kept->client_port == 0 && same_addr(kept->client_addr, p->saddr)) {
		bpf_map_update_elem(&kpr_edge_snat_ports, &fk, &p->sport, BPF_ANY);
		return p->sport;
	}
	/* A random start: flows of many clients to one backend do not all probe
	 * the same ports first. */
	start = bpf_get_prandom_u32();
	for (i = 0; i < KPR_SNAT_PORT_TRIES; i++) {
		port = bpf_htons(KPR_SNAT_PORT_MIN + (start + i) % KPR_SNAT_PORT_COUNT);
		k.snat_port = port;
		if (bpf_map_update_elem(&kpr_edge_snat, &k, v, BPF_NOEXIST) == 0) {
			bpf_map_update_elem(&kpr_edge_snat_ports, &fk, &port, BPF_ANY);
			return port;
		}
	}
	return 0;
}

/* snat: the backend sees this node as the client, on a port of its own per
 * flow (snat_port()); kpr_edge_snat remembers whom the reply is for. */
static __always_inline int forward_snat(struct xdp_md *ctx, struct pkt *p, const __u8 *src,
					const struct edge_backend *b, __u32 svc_id)
{
	struct edge_snat_val v = {};
	__u16 port;

	__builtin_memcpy(v.client_addr, p->saddr, 16);
	__builtin_memcpy(v.frontend_addr, p->daddr, 16);
	v.frontend_port = p->dport;
	v.client_port = p->sport;
	v.svc_id = svc_id;
	port = snat_port(p, src, b, &v);
	if (!port)
		return drop(KPR_XDP_DROP_SNAT_NO_PORT);
	if (nat_rewrite(ctx, p, NAT_SRC, src, port) || nat_rewrite(ctx, p, NAT_DST, b->addr, b->port))
		return drop(KPR_XDP_DROP_INVALID_PACKET);
	return forward_fib(ctx, p->family);
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
	struct edge_snat_key k = {};
	__u8 want[16] = {};
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&kpr_xdp_config, &zero);
	if (!cfg)
		return -1;
	node = node_addr(cfg, p->family);
	if (!node)
		return -1;
	if (p->family == KPR_AF_INET)
		__builtin_memcpy(want, node, 4);
	else
		__builtin_memcpy(want, node, 16);
	if (!same_addr(want, p->daddr))
		return -1;

	snat_key(&k, p, p->saddr, p->daddr, p->sport);
	k.snat_port = p->dport;
	v = bpf_map_lookup_elem(&kpr_edge_snat, &k);
	if (!v)
		return -1;
	if (!p->l4_valid)
		return drop(KPR_XDP_DROP_INVALID_PACKET);
	sv = *v;
	if (nat_rewrite(ctx, p, NAT_SRC, sv.frontend_addr, sv.frontend_port) ||
	    nat_rewrite(ctx, p, NAT_DST, sv.client_addr, sv.client_port ? sv.client_port : p->dport))
		return drop(KPR_XDP_DROP_INVALID_PACKET);
	return forward_fib(ctx, p->family);
}

/* A packet for a frontend: the decision (in t, for `kpr trace`), and the
 * action that carries it out. */
static __always_inline int balance(struct xdp_md *ctx, struct pkt *p, const struct edge_fe_val *fe,
				   struct decision *t)
{
	struct edge_fe_val svc = *fe;
	struct edge_backend *b;
	const __u8 *src;

	t->svc_id = svc.svc_id;
	if (!p->l4_valid)
		return drop(KPR_XDP_DROP_INVALID_PACKET);
	count_packet(ctx, svc.svc_id);
	if ((svc.flags & KPR_EDGE_F_SOURCE_RANGES) && !source_allowed(p, svc.svc_id))
		return drop(KPR_XDP_DROP_SOURCE_RANGE_DENIED);
	if (svc.count == 0)
		return no_backend(ctx, p, svc.flags);
	b = select_backend(p, &svc, &t->pick, &t->backend_id);
	if (!b)
		return drop(KPR_XDP_DROP_BACKEND_MISSING);
	if (b->family != p->family)
		return drop(KPR_XDP_DROP_UNSUPPORTED_L3);

	if (addr_is_zero(b->node_addr)) {
		t->path = KPR_PATH_LOCAL;
		return forward_local(ctx, p, b, t->pick != KPR_PICK_FLOW);
	}
	/* The config only now: a packet for a local backend does without it. */
	src = this_node(p->family);
	if (!src)
		return drop(KPR_XDP_DROP_NO_NODE_ADDRESS);
	if (svc.flags & KPR_EDGE_F_SNAT) {
		t->path = KPR_PATH_SNAT;
		return forward_snat(ctx, p, src, b, svc.svc_id);
	}
	t->path = KPR_PATH_DSR;
	return forward_dsr(ctx, p, src, b);
}

/* A later fragment: no ports, so it goes where its first fragment went,
 * with the same addresses and tunnel but nothing rewritten at L4
 * (kpr_edge_frag.h). One whose first fragment was not seen is dropped. */
static __always_inline int forward_fragment(struct xdp_md *ctx, struct pkt *p)
{
	const struct edge_frag_val *v = frag_lookup(p);
	__u8 fe_addr[16];
	const __u8 *src;

	if (!v || v->action == KPR_FRAG_DROP)
		return drop(KPR_XDP_DROP_FRAG_NOT_FOUND);
	if (v->action != KPR_FRAG_LOCAL && v->action != KPR_FRAG_DSR && v->action != KPR_FRAG_ROUTE)
		return XDP_PASS;
	__builtin_memcpy(fe_addr, p->daddr, 16);
	if (frag_rewrite(ctx, p, v))
		return drop(KPR_XDP_DROP_INVALID_PACKET);
	if (v->action == KPR_FRAG_LOCAL)
		return XDP_PASS;
	if (v->action == KPR_FRAG_ROUTE)
		return forward_fib(ctx, p->family);
	src = this_node(p->family);
	if (!src)
		return drop(KPR_XDP_DROP_NO_NODE_ADDRESS);
	return tunnel(ctx, p, src, v->tunnel_dst, fe_addr, v->frontend_port);
}

/* A whole packet, or a datagram's first fragment: the action, and in d what
 * was decided (a snat reply's path is snat). */
static __always_inline int edge_lb(struct xdp_md *ctx, struct pkt *p, struct decision *d)
{
	struct edge_trace_event *trace;
	const struct edge_fe_val *fe;
	int action;

	fe = lookup_frontend(p);
	if (!fe) {
		action = snat_reply(ctx, p);
		if (action < 0)
			return XDP_PASS;
		d->path = KPR_PATH_SNAT;
		return action;
	}
	trace = trace_begin(p);
	action = balance(ctx, p, fe, d);
	if (trace)
		trace_end(trace, d, action);
	return action;
}

SEC("xdp")
int kpr_xdp_lb(struct xdp_md *ctx)
{
	struct edge_frag_val *first = NULL;
	struct decision d = {};
	struct pkt p;
	int action;

	if (parse_packet(ctx, &p) != PARSE_OK)
		return XDP_PASS;
	if (p.frag == KPR_FRAG_LATER)
		return forward_fragment(ctx, &p);
	/* A first fragment: what becomes of it, its later fragments follow. */
	if (p.frag == KPR_FRAG_FIRST)
		first = frag_begin(&p);
	action = edge_lb(ctx, &p, &d);
	if (first)
		frag_complete(first, &p, &d, action);
	return action;
}
