/* DSR: a client's packet to a backend on another node goes there in a
 * tunnel (kpr_edge_encap.h) that names the frontend, and the backend's node
 * answers the client itself (tc_dsr.c). A packet too big for the tunnel is
 * answered here with the MTU the client has through it. */
#ifndef KPR_EDGE_DSR_H
#define KPR_EDGE_DSR_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_edge_encap.h"
#include "kpr_edge_verdict.h"
#include "kpr_fib.h"
#include "kpr_next_hop.h"
#include "kpr_icmp.h"
#include "kpr_nat.h"
#include "kpr_parse.h"

/* A client's packet p, which forward_dsr() addressed to its backend and
 * tunnelled, is bigger than mtu, the MTU towards the backend's node: it
 * becomes again the packet the client sent (to fe_addr/fe_port), then the
 * error that gives the client the MTU it has through the tunnel:
 * fragmentation needed (RFC 1191) or packet too big (RFC 8201), from the
 * frontend. An IPv4 packet without DF gets it too: XDP cannot fragment, and
 * a sender that allows fragments still learns the path MTU from it (Linux
 * then fragments to it itself), where a drop would teach it nothing. */
static __always_inline int too_big(struct xdp_md *ctx, struct pkt *p, const __u8 *fe_addr, __u16 fe_port, __u32 mtu)
{
	const int len = encap_len(p->family);
	int action;

	if (mtu <= len || encap_pop(ctx, len) || nat_rewrite(ctx, p, NAT_DST, fe_addr, fe_port))
		action = -1;
	else if (p->family == KPR_AF_INET)
		action = icmp_reply(ctx, p, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu - len);
	else
		action = icmp_reply(ctx, p, ICMPV6_PKT_TOOBIG, 0, mtu - len);
	return answered(action, KPR_EDGE_DROP_FRAG_NEEDED);
}

/* The inner packet goes to the backend itself; the tunnel names the
 * frontend for the backend's node (kpr_edge_encap.h). */
static __always_inline int forward_dsr(struct xdp_md *ctx, struct pkt *p, const __u8 *src,
				       const struct edge_backend *b)
{
	__u8 fe_addr[16] __attribute__((aligned(4))); /* nat_rewrite() reads it by words */
	__u16 fe_port = p->dport;
	__u32 mtu;
	int action;

	__builtin_memcpy(fe_addr, p->daddr, 16);
	action = nat_rewrite(ctx, p, NAT_DST, b->addr, b->port);
	if (action)
		return nat_refused(action);
	if (encap_dsr(ctx, p, src, b->node_addr, fe_addr, fe_port))
		return drop(KPR_EDGE_DROP_RESIZE_FAILED);
	action = next_hop_forward_mtu(ctx, p->family, &mtu);
	if (action == FIB_TOO_BIG)
		return too_big(ctx, p, fe_addr, fe_port, mtu);
	return forwarded(action);
}

#endif
