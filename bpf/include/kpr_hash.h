/* A 32-bit integer hash: Maglev's flow hash (kpr_edge_select.h), the snat
 * port a new flow tries first (kpr_edge_snat.h) and the slot of a kept next
 * hop (kpr_next_hop.h). */
#ifndef KPR_HASH_H
#define KPR_HASH_H

#include "vmlinux.h"

/* A 32-bit avalanche step (Chris Wellons' lowbias32 constants). */
static __always_inline __u32 hash_mix(__u32 h)
{
	h ^= h >> 16;
	h *= 0x7feb352d;
	h ^= h >> 15;
	h *= 0x846ca68b;
	h ^= h >> 16;
	return h;
}

/* h carried over the 16 bytes of an address (4-byte aligned), a word at a
 * time; each word a register, not a copy on the stack. */
static __always_inline __u32 hash_addr(__u32 h, const __u8 *addr)
{
	const __u32 *w = __builtin_assume_aligned(addr, 4);

#pragma unroll
	for (int i = 0; i < 4; i++)
		h = hash_mix(h ^ w[i]);
	return h;
}

#endif
