/* SCTP's CRC32c (RFC 9260 6.8) kept valid when NAT rewrites the ports,
 * without reading the payload: no helper computes a CRC32c, and a walk over
 * every byte would cost the packet's length. The CRC is linear over GF(2):
 * two packets of one length that differ only in the 4 port bytes at the
 * head differ in their CRC by the raw CRC of that difference, carried over
 * the L-4 bytes after it, which is a product with x^(8(L-4)) mod P
 * (two table reads, kpr_crc32c_tables.h). Addresses are not covered (no
 * pseudo header), so only a port change needs this. */
#ifndef KPR_CRC32C_H
#define KPR_CRC32C_H

#include "vmlinux.h"
#include "kpr_crc32c_tables.h"

/* Castagnoli's polynomial, bit-reflected: bit 31 is x^0, bit 0 is x^31. */
#define KPR_CRC32C_POLY 0x82F63B78u

/* One bit-step of the register: a shift, and P where a 1 falls off.
 * Branch-free, as every step here is: the verifier then walks one path
 * through each loop, not one per combination of bits. */
static __always_inline __u32 crc32c_step(__u32 r)
{
	return (r >> 1) ^ (KPR_CRC32C_POLY & -(r & 1));
}

/* a*b mod P, both reflected. */
static __always_inline __u32 crc32c_mul_mod(__u32 a, __u32 b)
{
	__u32 product = 0;

	for (int i = 0; i < 32; i++) {
		product ^= b & -((a >> (31 - i)) & 1);
		b = crc32c_step(b);
	}
	return product;
}

/* The raw CRC (register 0, no final complement) of 4 bytes, given as the
 * little-endian word of their wire order: a byte a step, from the table. */
static __always_inline __u32 crc32c_raw_word(__u32 word)
{
	for (int i = 0; i < 4; i++)
		word = kpr_crc32c_bytes[word & 0xff] ^ (word >> 8);
	return word;
}

/* The checksum after the first 4 bytes of an SCTP packet of sctp_len bytes
 * (header and chunks, 4 to 65535) changed from old_ports to new_ports.
 * Checksum and ports are the little-endian words of their wire bytes.
 * A global function: the verifier checks it once, on its own, where a
 * static one is walked again, loops and all, on every path that calls it. */
__noinline __u32 crc32c_ports_update(__u32 checksum, __u32 old_ports, __u32 new_ports, __u32 sctp_len)
{
	__u32 zeros = sctp_len - 4;
	__u32 carry = crc32c_mul_mod(kpr_crc32c_zeros_lo[zeros & 0xff], kpr_crc32c_zeros_hi[(zeros >> 8) & 0xff]);

	return checksum ^ crc32c_mul_mod(crc32c_raw_word(old_ports ^ new_ports), carry);
}

#endif
