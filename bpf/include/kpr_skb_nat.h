/* kpr_nat.h's rewrites for a socket buffer (tc): through the kernel's
 * helpers, which also know a checksum the device has yet to fill in
 * (CHECKSUM_PARTIAL, as packets from a pod's own stack have), and keep the
 * skb's checksum state right. The packet must have parsed with l4_valid. */
#ifndef KPR_SKB_NAT_H
#define KPR_SKB_NAT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_nat.h"
#include "kpr_parse.h"

/* Field offsets the rewrite helpers take (RFC 791, 8200, 793, 768). */
#define IPV4_CSUM_OFF  10
#define IPV4_SADDR_OFF 12
#define IPV6_SADDR_OFF 8
#define TCP_CSUM_OFF   16
#define UDP_CSUM_OFF   6

/* Sets one side's address, with the IPv4 header checksum; *diff gets what
 * the change adds to the pseudo header's sum, for the L4 checksum. Alone, it
 * is the whole rewrite of a later fragment. */
static __always_inline int skb_set_addr(struct __sk_buff *skb, const struct pkt *p, enum nat_side side,
					const __u8 *addr, __s64 *diff)
{
	__u32 alen = p->family == KPR_AF_INET ? 4 : 16;
	__u32 off = L3_OFF + (p->family == KPR_AF_INET ? IPV4_SADDR_OFF : IPV6_SADDR_OFF) + (side == NAT_DST ? alen : 0);
	__u8 old_addr[16], new_addr[16];

	__builtin_memcpy(old_addr, side == NAT_DST ? p->daddr : p->saddr, 16);
	__builtin_memcpy(new_addr, addr, 16);
	*diff = bpf_csum_diff((void *)old_addr, alen, (void *)new_addr, alen, 0);
	if (*diff < 0)
		return -1;
	if (p->family == KPR_AF_INET && bpf_l3_csum_replace(skb, L3_OFF + IPV4_CSUM_OFF, 0, *diff, 0))
		return -1;
	return bpf_skb_store_bytes(skb, off, new_addr, alen, 0) ? -1 : 0;
}

/* An SCTP port, with its checksum, which covers no address (kpr_nat.h). One
 * the device has yet to fill in is overwritten after tc, so updating it does
 * no harm. */
static __always_inline int skb_set_sctp_port(struct __sk_buff *skb, const struct pkt *p, enum nat_side side,
					     __u16 port)
{
	__u32 l4_off = l4_offset(p);
	__u32 ports, check;

	if (bpf_skb_load_bytes(skb, l4_off, &ports, 4) || bpf_skb_load_bytes(skb, l4_off + SCTP_CSUM_OFF, &check, 4))
		return NAT_NO_HEADER;
	check = sctp_check_for_port(p, check, ports, side, port);
	if (bpf_skb_store_bytes(skb, l4_off + SCTP_CSUM_OFF, &check, 4, 0) ||
	    bpf_skb_store_bytes(skb, l4_off + (side == NAT_DST ? 2 : 0), &port, 2, 0))
		return NAT_NO_HEADER;
	return 0;
}

/* Sets one side's address and port (network order), with the IPv4 header
 * checksum and the L4 checksum. Returns 0 or an enum nat_error, before
 * anything changed for the latter's NAT_SCTP_FRAGMENT. *p is left as it
 * was. */
static __always_inline int skb_nat_rewrite(struct __sk_buff *skb, const struct pkt *p, enum nat_side side,
					   const __u8 *addr, __u16 port)
{
	__u32 l4_off = l4_offset(p);
	__u32 csum_off = l4_off + (p->proto == IPPROTO_TCP ? TCP_CSUM_OFF : UDP_CSUM_OFF);
	__u64 l4_flags = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
	__u16 old_port = side == NAT_DST ? p->dport : p->sport;
	__s64 diff;

	if (sctp_port_unfixable(p, old_port, port))
		return NAT_SCTP_FRAGMENT;
	if (skb_set_addr(skb, p, side, addr, &diff))
		return NAT_NO_HEADER;
	if (p->proto == IPPROTO_SCTP)
		return old_port != port ? skb_set_sctp_port(skb, p, side, port) : 0;
	if (bpf_l4_csum_replace(skb, csum_off, 0, diff, BPF_F_PSEUDO_HDR | l4_flags) ||
	    bpf_l4_csum_replace(skb, csum_off, old_port, port, 2 | l4_flags))
		return NAT_NO_HEADER;
	return bpf_skb_store_bytes(skb, l4_off + (side == NAT_DST ? 2 : 0), &port, 2, 0) ? NAT_NO_HEADER : 0;
}

#endif
