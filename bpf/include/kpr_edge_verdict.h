/* How the XDP edge LB's paths end when a packet does not simply go on: a
 * drop, counted by its reason (count_drop, kpr_edge_maps.h) and noted for `kpr trace`;
 * an answer sent back in the packet's place, counted like a drop; or, for a
 * rewritten packet, a send through the FIB, where no next hop is a drop too. */
#ifndef KPR_EDGE_VERDICT_H
#define KPR_EDGE_VERDICT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_edge_maps.h"
#include "kpr_fib.h"
#include "kpr_nat.h"
#include "kpr_next_hop.h"

/* The reason of the last drop on this CPU, which the trace of a dropped
 * packet reads (kpr_edge_trace.h). */
static __always_inline void note_drop(__u32 reason)
{
	__u32 zero = 0, *last = bpf_map_lookup_elem(&kpr_xdp_last_drop, &zero);

	if (last)
		*last = reason;
}

static __always_inline int drop(__u32 reason)
{
	count_drop(reason);
	note_drop(reason);
	return XDP_DROP;
}

/* The end of a packet answered in its place (a reject, an ICMP error) by a
 * builder that returns its action, or -1 when it could not resize the
 * packet: the answer is counted like a drop, by reason, so that the drop
 * counters show every packet that reached no backend. */
static __always_inline int answered(int action, __u32 reason)
{
	if (action < 0)
		return drop(KPR_EDGE_DROP_RESIZE_FAILED);
	drop(reason);
	return action;
}

/* A nat_rewrite() that refused (enum nat_error), as a drop. */
static __always_inline int nat_refused(int err)
{
	return drop(err == NAT_SCTP_FRAGMENT ? KPR_EDGE_DROP_SCTP_FRAGMENT : KPR_EDGE_DROP_INVALID_PACKET);
}

/* A forwarding's action (kpr_fib.h, kpr_next_hop.h); one the FIB had no
 * answer for, as a drop. */
static __always_inline int forwarded(int action)
{
	return action < 0 ? drop(KPR_EDGE_DROP_FIB_LOOKUP_FAILED) : action;
}

static __always_inline int forward_fib(struct xdp_md *ctx, __u8 family)
{
	return forwarded(fib_forward(ctx, family));
}

/* As forward_fib(), for a packet towards a backend (kpr_next_hop.h). */
static __always_inline int forward_to_backend(struct xdp_md *ctx, __u8 family)
{
	__u32 mtu;

	return forwarded(next_hop_forward_mtu(ctx, family, &mtu));
}

#endif
