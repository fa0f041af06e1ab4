/* The datapath clock in the programs (kpr_flow_lifetime.h): every packet of
 * a flow reads it from the config, one load; a new flow, which reads the
 * real clock anyway, moves it on when a second has passed, so that it runs
 * while traffic does, the agent's collector or not. */
#ifndef KPR_EDGE_CLOCK_H
#define KPR_EDGE_CLOCK_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_edge_config.h"
#include "kpr_flow_lifetime.h"

/* The clock as the last reader of the real one left it. */
static __always_inline __u32 edge_clock(void)
{
	const struct edge_config *cfg = edge_config();

	return cfg ? cfg->clock_s : 0;
}

/* The clock at now_ns, a reading of the real clock (bpf_ktime_get_coarse_ns),
 * moved into the config when it is ahead of it. */
static __always_inline __u32 edge_clock_advance(__u64 now_ns)
{
	struct edge_config *cfg = edge_config();
	__u32 now = ct_clock_of(now_ns);

	if (cfg && (__s32)(now - cfg->clock_s) > 0)
		cfg->clock_s = now;
	return now;
}

#endif
