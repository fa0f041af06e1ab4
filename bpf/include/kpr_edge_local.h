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
 * through tc_dsr.c, which needs to know the frontend (revnat_note). */
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
	revnat_note(p, fe_addr, fe_port, new_flow, refreshed);
	return XDP_PASS;
}

#endif
