/* A client's packet to a backend on this node: its destination rewritten,
 * it goes up the stack, and what its replies need to leave as the
 * frontend's is remembered for tc_dsr.c (kpr_edge_revnat.h). */
#ifndef KPR_EDGE_LOCAL_H
#define KPR_EDGE_LOCAL_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_edge_revnat.h"
#include "kpr_edge_verdict.h"
#include "kpr_flow_lifetime.h"
#include "kpr_nat.h"
#include "kpr_parse.h"

/* A backend on this node: the stack delivers the packet; its replies leave
 * through tc_dsr.c, which needs to know the frontend. That is written once
 * per connection, and refreshed with the flow's entry (at most once a
 * second): a map update on every packet would cost more than all the rest. */
static __always_inline int forward_local(struct xdp_md *ctx, struct pkt *p, const struct edge_backend *b,
					 int new_flow, int refreshed)
{
	__u8 fe_addr[16];
	__u16 fe_port = p->dport;
	int err;

	__builtin_memcpy(fe_addr, p->daddr, 16);
	err = nat_rewrite(ctx, p, NAT_DST, b->addr, b->port);
	if (err)
		return nat_refused(err);
	/* A client may open a connection from the port of an ended one, to
	 * another frontend of the same service: the flow entry is the same,
	 * the frontend its replies must come from is not. */
	if (new_flow || (p->proto == IPPROTO_TCP && ct_opening(p->tcp_flags)))
		revnat_remember(p, fe_addr, fe_port);
	else if (refreshed)
		revnat_remember_or_refresh(p, fe_addr, fe_port);
	return XDP_PASS;
}

#endif
