/* How the edge LB's paths end when a packet does not simply go on: a drop,
 * counted by its reason in kpr_xdp_drops (XDP also notes it for `kpr
 * trace`), or, for a rewritten packet, a send through the FIB, where no next
 * hop is a drop too. */
#ifndef KPR_EDGE_VERDICT_H
#define KPR_EDGE_VERDICT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_edge_maps.h"
#include "kpr_fib.h"

static __always_inline void count_drop(__u32 reason)
{
	__u64 *c = bpf_map_lookup_elem(&kpr_xdp_drops, &reason);

	if (c)
		*c += 1;
}

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

static __always_inline int forward_fib(struct xdp_md *ctx, __u8 family)
{
	int action = fib_forward(ctx, family);

	return action < 0 ? drop(KPR_EDGE_DROP_FIB_LOOKUP_FAILED) : action;
}

#endif
