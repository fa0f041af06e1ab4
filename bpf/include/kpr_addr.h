/* 16-byte addresses as the maps hold them (IPv4 in the first 4 bytes, the
 * rest zero), compared as two words. */
#ifndef KPR_ADDR_H
#define KPR_ADDR_H

#include "vmlinux.h"
#include "kpr_consts.h"

static __always_inline int addr_equal(const __u8 *a, const __u8 *b)
{
	__u64 x[2], y[2];

	__builtin_memcpy(x, a, 16);
	__builtin_memcpy(y, b, 16);
	return x[0] == y[0] && x[1] == y[1];
}

static __always_inline int addr_is_zero(const __u8 *a)
{
	__u64 w[2];

	__builtin_memcpy(w, a, 16);
	return (w[0] | w[1]) == 0;
}

/* An address of family's length (4 or 16 bytes) into a 16-byte field. */
static __always_inline void addr_copy(__u8 *to, const __u8 *from, __u8 family)
{
	if (family == KPR_AF_INET)
		__builtin_memcpy(to, from, 4);
	else
		__builtin_memcpy(to, from, 16);
}

#endif
