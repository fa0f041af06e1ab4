/* One more in a per-CPU array of 64-bit counters: every counter the
 * programs keep by index (drops by reason, flow misses) is one of these. */
#ifndef KPR_COUNTER_H
#define KPR_COUNTER_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

static __always_inline void count_one(void *map, __u32 index)
{
	__u64 *c = bpf_map_lookup_elem(map, &index);

	if (c)
		*c += 1;
}

#endif
