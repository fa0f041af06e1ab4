/* Addresses as struct pkt and the maps keep them: 16 bytes, an IPv4
 * address in the first 4 and the rest zero. */
#ifndef KPR_ADDR_H
#define KPR_ADDR_H

#include "vmlinux.h"

static __always_inline int addr_equal(const __u8 *a, const __u8 *b)
{
	__u64 x[2], y[2];

	__builtin_memcpy(x, a, 16);
	__builtin_memcpy(y, b, 16);
	return x[0] == y[0] && x[1] == y[1];
}

#endif
