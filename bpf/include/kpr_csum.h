/* Internet checksums (RFC 1071) and their incremental update (RFC 1624).
 * Sums are taken over 16-bit words as they lie in memory: one's complement
 * addition does not care about byte order as long as it is consistent. */
#ifndef KPR_CSUM_H
#define KPR_CSUM_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_consts.h"

static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Partial sum of len bytes (a constant multiple of 2) at p. */
static __always_inline __u64 csum_words(const void *p, const int len)
{
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < len / 2; i++) {
		__u16 w;

		__builtin_memcpy(&w, (const __u8 *)p + 2 * i, 2);
		sum += w;
	}
	return sum;
}

/* What replacing len bytes from -> to adds to a sum (RFC 1624 eqn. 3). */
static __always_inline __u64 csum_delta(const void *from, const void *to, const int len)
{
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < len / 2; i++) {
		__u16 f, t;

		__builtin_memcpy(&f, (const __u8 *)from + 2 * i, 2);
		__builtin_memcpy(&t, (const __u8 *)to + 2 * i, 2);
		sum += (__u16)~f;
		sum += t;
	}
	return sum;
}

/* csum_delta() of an address (len 4 or 16) that the caller holds 4-byte
 * aligned (struct pkt, map values, aligned locals): a 32-bit word at a time,
 * which sums the same (2^16 is 1 modulo 2^16 - 1) with a quarter of the
 * loads; from a byte pointer the compiler would load byte by byte. */
static __always_inline __u64 csum_delta_addr(const __u8 *from, const __u8 *to, const int len)
{
	const __u32 *f = __builtin_assume_aligned(from, 4), *t = __builtin_assume_aligned(to, 4);
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < len / 4; i++)
		sum += (__u64)(__u32)~f[i] + t[i];
	return sum;
}

/* Applies a delta to a stored checksum: HC' = ~(~HC + delta). */
static __always_inline __u16 csum_apply(__u16 check, __u64 delta)
{
	return ~csum_fold((__u16)~check + delta);
}

/* Sum of the TCP/UDP pseudo header (RFC 793, RFC 8200 8.1) without length
 * and protocol, i.e. the addresses: what an address rewrite changes. */
static __always_inline __u64 csum_pseudo_addrs(const __u8 *saddr, const __u8 *daddr, __u8 family)
{
	if (family == KPR_AF_INET)
		return csum_words(saddr, 4) + csum_words(daddr, 4);
	return csum_words(saddr, 16) + csum_words(daddr, 16);
}

#endif
