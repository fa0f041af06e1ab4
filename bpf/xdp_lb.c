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
 * came.
 *
 * A packet is parsed (kpr_parse.h), its frontend looked up, a backend chosen
 * (kpr_edge_select.h), and it is forwarded by one of forward_local
 * (kpr_edge_local.h), forward_dsr (kpr_edge_dsr.h) or forward_snat
 * (kpr_edge_snat.h, which also turns snat replies back); every other end is
 * a drop (kpr_edge_verdict.h). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_edge_maps.h"
#include "kpr_parse.h"
#include "kpr_nat.h"
#include "kpr_edge_encap.h"
#include "kpr_edge_config.h"
#include "kpr_edge_verdict.h"
#include "kpr_reject.h"
#include "kpr_edge_select.h"
#include "kpr_edge_local.h"
#include "kpr_edge_dsr.h"
#include "kpr_edge_snat.h"
#include "kpr_edge_icmp.h"
#include "kpr_edge_frag.h"
#include "kpr_edge_trace.h"

char LICENSE[] SEC("license") = "GPL";

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

static __noinline int no_backend(struct xdp_md *ctx, const struct pkt *p, __u16 flags)
{
	int action;

	if (flags & KPR_EDGE_F_DROP_NO_BACKEND)
		return drop(KPR_EDGE_DROP_NO_SERVICE_BACKEND);
	action = p->proto == IPPROTO_TCP ? reject_tcp(ctx, p) : reject_udp(ctx, p);
	return answered(action, KPR_EDGE_DROP_NO_SERVICE_BACKEND); /* the socket LB counts rejects too */
}

/* A packet for a frontend: the decision (in t, for `kpr trace`), and the
 * action that carries it out. */
static __always_inline int balance(struct xdp_md *ctx, struct pkt *p, const struct edge_fe_val *fe,
				   struct decision *t)
{
	struct edge_fe_val svc = *fe;
	const struct edge_config *cfg;
	struct edge_backend *b;
	struct remembered_snat snat = {};
	int refreshed = 0;
	const __u8 *src;

	t->svc_id = svc.svc_id;
	if (!p->l4_valid)
		return drop(KPR_EDGE_DROP_INVALID_PACKET);
	count_service_packet(svc.svc_id, ctx->data_end - ctx->data);
	if ((svc.flags & KPR_EDGE_F_SOURCE_RANGES) && !source_allowed(p, svc.svc_id))
		return drop(KPR_EDGE_DROP_SOURCE_RANGE_DENIED);
	if (svc.count == 0)
		return no_backend(ctx, p, svc.flags);
	b = select_backend(ctx, KPR_CTX_XDP, p, &svc, &t->pick, &t->backend_id, &refreshed, &snat);
	if (!b)
		return t->pick == KPR_PICK_NODE_CONNTRACK ? XDP_PASS : drop(KPR_EDGE_DROP_BACKEND_MISSING);
	if (b->family != p->family)
		return drop(KPR_EDGE_DROP_UNSUPPORTED_L3);

	if (addr_is_zero(b->node_addr)) {
		t->path = KPR_PATH_LOCAL;
		return forward_local(ctx, p, b, t->pick != KPR_PICK_FLOW, refreshed);
	}
	cfg = edge_config();
	if (!cfg)
		return drop(KPR_EDGE_DROP_NO_NODE_ADDRESS);
	src = node_addr(cfg, p->family);
	if (!src)
		return drop(KPR_EDGE_DROP_NO_NODE_ADDRESS);
	if (svc.flags & KPR_EDGE_F_SNAT) {
		t->path = KPR_PATH_SNAT;
		return forward_snat(ctx, p, cfg, src, b, svc.svc_id, &snat);
	}
	t->path = KPR_PATH_DSR;
	return forward_dsr(ctx, p, src, b);
}

/* A later fragment: no ports, so it goes where its first fragment went,
 * with the same addresses and tunnel but nothing rewritten at L4
 * (kpr_edge_frag.h). One whose first fragment was not seen is dropped.
 * Out of line: its tunnel and FIB code stay out of the ordinary path's. */
static __noinline int forward_fragment(struct xdp_md *ctx, struct pkt *p)
{
	const struct edge_frag_val *v = frag_lookup(p);
	const struct edge_config *cfg;
	__u64 pseudo; /* no L4 header, no pseudo header sum to fix */
	__u8 fe_addr[16];
	const __u8 *src;

	if (!v || v->action == KPR_FRAG_DROP)
		return drop(KPR_EDGE_DROP_FRAG_NOT_FOUND);
	if (v->action != KPR_FRAG_LOCAL && v->action != KPR_FRAG_DSR && v->action != KPR_FRAG_ROUTE)
		return XDP_PASS;
	__builtin_memcpy(fe_addr, p->daddr, 16);
	if (addr_rewrite(ctx, p, NAT_SRC, v->saddr, &pseudo) || addr_rewrite(ctx, p, NAT_DST, v->daddr, &pseudo))
		return drop(KPR_EDGE_DROP_INVALID_PACKET);
	if (v->action == KPR_FRAG_LOCAL)
		return XDP_PASS;
	if (v->action == KPR_FRAG_ROUTE)
		return forward_fib(ctx, p->family);
	/* Its first fragment fitted the tunnel: a later one is no bigger. */
	cfg = edge_config();
	src = cfg ? node_addr(cfg, p->family) : NULL;
	if (!src)
		return drop(KPR_EDGE_DROP_NO_NODE_ADDRESS);
	if (encap_dsr(ctx, p, src, v->tunnel_dst, fe_addr, v->frontend_port))
		return drop(KPR_EDGE_DROP_RESIZE_FAILED);
	return forward_fib(ctx, p->family);
}

/* An ICMP error about a flow of the edge LB goes the flow's way
 * (kpr_edge_icmp.h); any other one is the stack's. */
static __always_inline int icmp_error(struct xdp_md *ctx, struct pkt *p)
{
	const struct edge_config *cfg;
	const struct edge_fe_val *fe;
	struct icmp_error e;
	struct pkt peer;
	int action;

	if (icmp_err_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, p, &e))
		return XDP_PASS;
	/* The packet that answered the quote: a client's to a frontend, or a
	 * backend's reply to a snat port. */
	pkt_reversed(&e.quoted, &peer);
	fe = lookup_frontend(&peer);
	cfg = edge_config();
	action = fe ? icmp_to_backend(ctx, p, &e, &peer, fe, cfg ? node_addr(cfg, p->family) : NULL)
		    : icmp_to_client(ctx, p, &e, &peer);
	if (action == ICMP_RESIZE_FAILED)
		return drop(KPR_EDGE_DROP_RESIZE_FAILED);
	if (action == ICMP_FORWARD)
		return forward_fib(ctx, p->family);
	return action;
}

/* ICMP errors have a program of their own, reached by a tail call from
 * kpr_xdp_lb: a tail call starts with a stack of its own, and the balanced
 * packets' path leaves too little of theirs for another call. Pinned: the
 * kernel empties a program array once no file or pin holds it. */
int kpr_xdp_icmp(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, int(struct xdp_md *));
} kpr_xdp_icmp_call SEC(".maps") = {
	.values = { [0] = (void *)&kpr_xdp_icmp },
};

SEC("xdp")
int kpr_xdp_icmp(struct xdp_md *ctx)
{
	struct pkt p;

	parse_packet(ctx, &p); /* kpr_xdp_lb passed it: its IP fields are filled */
	return icmp_error(ctx, &p);
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

	if (parse_packet(ctx, &p) != PARSE_OK) {
		if (p.proto == IPPROTO_ICMP || p.proto == IPPROTO_ICMPV6)
			bpf_tail_call(ctx, &kpr_xdp_icmp_call, 0);
		return XDP_PASS;
	}
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
