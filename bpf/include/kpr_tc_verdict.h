/* How a tc program of the edge LB ends: the packet goes on, or is dropped
 * and counted by its reason (count_drop, kpr_edge_maps.h), as XDP's drops
 * are (kpr_edge_verdict.h). */
#ifndef KPR_TC_VERDICT_H
#define KPR_TC_VERDICT_H

#include "kpr_edge_maps.h"

#define TC_ACT_OK   0
#define TC_ACT_SHOT 2

static __always_inline int shot(__u32 reason)
{
	count_drop(reason);
	return TC_ACT_SHOT;
}

#endif
