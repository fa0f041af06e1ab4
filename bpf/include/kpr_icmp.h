/* ICMP and ICMPv6 errors about TCP/UDP packets: building one that answers a
 * packet (RFC 792, RFC 4443), and reading and translating one that arrives
 * about a packet of a translated flow, as conntrack's NAT does for related
 * ICMP (nf_nat_icmp_reply_translation): the quoted packet is rewritten like
 * the flow's own packets, and the error's outer addresses with it.
 *
 * Both work on the packet's linear bytes [data, data_end), so that XDP and
 * tc (after bpf_skb_pull_data) share them. Every checksum an error carries
 * is kept valid by incremental updates (RFC 1624), so that one the sender
 * got wrong stays wrong: the outer IPv4 header's, the ICMP checksum (ICMPv6:
 * over its pseudo header too), the quoted IPv4 header's, and the quoted
 * TCP/UDP checksum when the quote reaches it. */
#ifndef KPR_ICMP_H
#define KPR_ICMP_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "kpr_addr.h"
#include "kpr_csum.h"
#include "kpr_parse.h"

#define IPPROTO_ICMPV6 58

#define ICMP_DEST_UNREACH    3
#define ICMP_PORT_UNREACH    3
#define ICMP_FRAG_NEEDED     4
#define ICMP_TIME_EXCEEDED   11
#define ICMP_PARAMETERPROB   12
#define ICMPV6_DEST_UNREACH  1
#define ICMPV6_PKT_TOOBIG    2
#define ICMPV6_TIME_EXCEED   3
#define ICMPV6_PARAMPROB     4
#define ICMPV6_PORT_UNREACH  4

/* The fixed part of an error: type, code, checksum and 4 bytes whose
 * meaning depends on the type (the next-hop MTU of a fragmentation needed
 * or packet too big). */
struct icmp_err_hdr {
	__u8 type;
	__u8 code;
	__u16 check;
	__u32 info;
};

/* What an error kpr builds quotes of the packet: its IP header (IPv4: with
 * options; IPv6: with the Fragment header of a first fragment) and the first
 * 8 bytes after it, which hold the ports and, for TCP, the sequence number a
 * receiver checks (RFC 792, RFC 1191). */
#define QUOTE_L4_LEN 8
#define QUOTE4_MAX (60 + QUOTE_L4_LEN)

/* Sum of the len (even, at most QUOTE4_MAX + 8) bytes at p, read within
 * data_end: the quoted datagram's length is only known at run time. */
static __always_inline __u64 csum_bytes(const void *p, __u32 len, const void *data_end)
{
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < (QUOTE4_MAX + sizeof(struct icmp_err_hdr)) / 2; i++) {
		const __u16 *w = p + 2 * i;

		if (2 * i >= len || (const void *)(w + 1) > data_end)
			break;
		sum += *w;
	}
	return sum;
}

/* Turns the packet p, in place, into the error of type and code (those of
 * its family) that answers it, from its destination to its source and back
 * out of the port it came in on; info goes in the header's last 4 bytes
 * (host order). The packet's own IP header and the 8 bytes after it stay
 * where they are, as the quote; the new Ethernet, IP and ICMP headers go in
 * front of them. Returns XDP_TX, or -1 when the packet could not be resized. */
static __always_inline int icmp_reply(struct xdp_md *ctx, const struct pkt *p, __u8 type, __u8 code, __u32 info)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const int v4 = p->family == KPR_AF_INET;
	const __u32 ip_len = v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	const __u32 quote_len = l4_offset(p) - L3_OFF + QUOTE_L4_LEN;
	const __u32 icmp_len = sizeof(struct icmp_err_hdr) + quote_len;
	struct ethhdr *eth = data, reply_eth;
	struct icmp_err_hdr *icmp;
	__u64 sum;

	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(reply_eth.h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(reply_eth.h_source, eth->h_dest, ETH_ALEN);
	reply_eth.h_proto = eth->h_proto;
	if (bpf_xdp_adjust_head(ctx, -(int)(ip_len + sizeof(*icmp))))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (bpf_xdp_adjust_tail(ctx, (int)(sizeof(struct ethhdr) + ip_len + icmp_len) - (int)(data_end - data)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth, &reply_eth, sizeof(reply_eth));
	if (v4) {
		struct iphdr *ip = (void *)(eth + 1);

		icmp = (void *)(ip + 1);
		if ((void *)(icmp + 1) > data_end)
			return -1;
		__builtin_memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->tot_len = bpf_htons(ip_len + icmp_len);
		ip->ttl = KPR_TTL;
		ip->protocol = IPPROTO_ICMP;
		__builtin_memcpy(&ip->saddr, p->daddr, 4);
		__builtin_memcpy(&ip->daddr, p->saddr, 4);
		ip->check = ~csum_fold(csum_words(ip, sizeof(*ip)));
		sum = 0;
	} else {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		icmp = (void *)(ip6 + 1);
		if ((void *)(icmp + 1) > data_end)
			return -1;
		__builtin_memset(ip6, 0, sizeof(*ip6));
		ip6->version = 6;
		ip6->payload_len = bpf_htons(icmp_len);
		ip6->nexthdr = IPPROTO_ICMPV6;
		ip6->hop_limit = KPR_TTL;
		__builtin_memcpy(&ip6->saddr, p->daddr, 16);
		__builtin_memcpy(&ip6->daddr, p->saddr, 16);
		sum = csum_words(&ip6->saddr, 32) + bpf_htons(icmp_len) + bpf_htons(IPPROTO_ICMPV6);
	}
	icmp->type = type;
	icmp->code = code;
	icmp->check = 0;
	icmp->info = bpf_htonl(info);
	sum += csum_bytes(icmp, icmp_len, data_end);
	/* The verifier forgets icmp's bounds in the loop: find it again. */
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	icmp = data + sizeof(struct ethhdr) + ip_len;
	if ((void *)(icmp + 1) > data_end)
		return -1;
	icmp->check = ~csum_fold(sum);
	return XDP_TX;
}

/* Offsets into an error stay below this: Ethernet, an outer IPv4 header
 * with options, the ICMP header and a quoted IPv4 header with options. */
#define ICMP_ERR_OFF_MASK 0xff
/* How much of an error must be linear to be read and translated: up to the
 * quoted TCP checksum behind the longest headers. */
#define ICMP_ERR_HEADERS_MAX (sizeof(struct ethhdr) + 60 + sizeof(struct icmp_err_hdr) + 60 + 18)

/* An end of the packet an error quotes. */
enum quoted_end {
	QUOTED_SRC,
	QUOTED_DST,
};

/* An error about a TCP/UDP packet, and where its parts lie (from data). */
struct icmp_error {
	struct pkt quoted; /* the packet it quotes; quoted.l4_off is not used */
	__u16 icmp_off;
	__u16 quote_off;    /* the quoted IP header */
	__u16 quote_l4_off; /* the quoted TCP/UDP header */
	__u32 quote_end;    /* where the error's datagram ends */
};

/* The error types that quote a packet of a flow; redirects are left to
 * the stack, as conntrack's NAT leaves them. */
static __always_inline int icmp_type_is_error(__u8 family, __u8 type)
{
	if (family == KPR_AF_INET)
		return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
	return type == ICMPV6_DEST_UNREACH || type == ICMPV6_PKT_TOOBIG || type == ICMPV6_TIME_EXCEED ||
	       type == ICMPV6_PARAMPROB;
}

/* Whether p, which parse_frame() passed with its IP fields filled, is an
 * ICMP error about a TCP, UDP or SCTP packet that the error's destination sent:
 * 0 with e filled, -1 otherwise. An error in fragments is the stack's (a
 * later one has no ICMP header). The quote must hold the quoted IP header
 * and the 8 bytes after it; a quoted later fragment has no ports. */
static __always_inline int icmp_err_parse(void *data, void *data_end, const struct pkt *p, struct icmp_error *e)
{
	struct icmp_err_hdr *icmp = data + l4_offset(p);
	__u32 quote_off = l4_offset(p) + sizeof(*icmp);
	struct pkt *q = &e->quoted;
	__u16 *ports;
	__u32 l4;

	if (p->frag || p->proto != (p->family == KPR_AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6) ||
	    (void *)(icmp + 1) > data_end || !icmp_type_is_error(p->family, icmp->type))
		return -1;
	__builtin_memset(q, 0, sizeof(*q));
	q->family = p->family;
	if (p->family == KPR_AF_INET) {
		struct iphdr *iph = data + quote_off;

		if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5 ||
		    (iph->frag_off & bpf_htons(IP_OFFSET)))
			return -1;
		q->proto = iph->protocol;
		__builtin_memcpy(q->saddr, &iph->saddr, 4);
		__builtin_memcpy(q->daddr, &iph->daddr, 4);
		l4 = quote_off + iph->ihl * 4;
	} else {
		struct ipv6hdr *ip6 = data + quote_off;

		if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
			return -1;
		q->proto = ip6->nexthdr;
		__builtin_memcpy(q->saddr, &ip6->saddr, 16);
		__builtin_memcpy(q->daddr, &ip6->daddr, 16);
		l4 = quote_off + sizeof(*ip6);
	}
	ports = data + (l4 & ICMP_ERR_OFF_MASK);
	if (!proto_has_ports(q->proto) || l4 + QUOTE_L4_LEN > L3_OFF + p->l3_len ||
	    (void *)ports + QUOTE_L4_LEN > data_end || !addr_equal(p->daddr, q->saddr))
		return -1;
	q->sport = ports[0];
	q->dport = ports[1];
	e->icmp_off = l4_offset(p);
	e->quote_off = quote_off;
	e->quote_l4_off = l4;
	e->quote_end = L3_OFF + p->l3_len;
	return 0;
}

/* icmp_err_parse() on an skb whose headers parse_frame() read: the error's
 * headers and quote are made linear (and writable) first. */
static __always_inline int icmp_err_parse_skb(struct __sk_buff *skb, const struct pkt *p, struct icmp_error *e)
{
	if (p->proto != IPPROTO_ICMP && p->proto != IPPROTO_ICMPV6)
		return -1;
	bpf_skb_pull_data(skb, skb->len < ICMP_ERR_HEADERS_MAX ? skb->len : ICMP_ERR_HEADERS_MAX);
	return icmp_err_parse((void *)(long)skb->data, (void *)(long)skb->data_end, p, e);
}

/* The packet that answers q (its ends swapped): for a quoted reply, the
 * client's packet the edge LB's tables are keyed on, and the other way. */
static __always_inline void pkt_reversed(const struct pkt *q, struct pkt *r)
{
	__builtin_memset(r, 0, sizeof(*r));
	r->family = q->family;
	r->proto = q->proto;
	__builtin_memcpy(r->saddr, q->daddr, 16);
	__builtin_memcpy(r->daddr, q->saddr, 16);
	r->sport = q->dport;
	r->dport = q->sport;
}

/* What replacing the address from with to adds to a sum (csum_delta()),
 * summed by the kernel: unrolled over 16 bytes at a time, csum_delta()'s
 * byte loads spill more stack than the ICMP paths have. */
static __always_inline __u64 csum_addr_delta(const __u8 *from, const __u8 *to, __u8 family)
{
	__s64 d = family == KPR_AF_INET ? bpf_csum_diff((__be32 *)from, 4, (__be32 *)to, 4, 0)
					: bpf_csum_diff((__be32 *)from, 16, (__be32 *)to, 16, 0);

	return d < 0 ? 0 : (__u32)d; /* sizes the helper always takes */
}

/* A new value for the 16-bit field at f, and what that adds to the sum of
 * the ICMP message around it. */
static __always_inline __u64 icmp_set16(__u16 *f, __u16 v)
{
	__u64 delta = csum_delta(f, &v, 2);

	*f = v;
	return delta;
}

/* The quoted TCP/UDP checksum, when the quote holds it, after its packet's
 * address and port changed by delta; what that adds to the ICMP sum. A
 * quoted SCTP checksum is left as it was: a receiver finds its association
 * by the ports and the verification tag (RFC 9260 10, Linux's
 * sctp_err_lookup), and a quote is mostly too short to fix its CRC. */
static __always_inline __u64 icmp_quoted_l4_csum(void *data, void *data_end, const struct icmp_error *e, __u64 delta)
{
	const __u32 off = e->quote_l4_off + (e->quoted.proto == IPPROTO_TCP ? 16 : 6);
	__u16 *check = data + (off & ICMP_ERR_OFF_MASK);
	__u16 v;

	if (e->quoted.proto == IPPROTO_SCTP)
		return 0;

	if (off + 2 > e->quote_end || (void *)(check + 1) > data_end)
		return 0;
	if (e->quoted.proto == IPPROTO_UDP && e->quoted.family == KPR_AF_INET && *check == 0)
		return 0; /* no checksum, and it stays none */
	v = csum_apply(*check, delta);
	if (e->quoted.proto == IPPROTO_UDP && v == 0)
		v = 0xffff;
	return icmp_set16(check, v);
}

/* Rewrites one end of the quoted packet to addr/port (network order)
 * and the error's other end to addr: a new quoted destination is the one
 * that now sends the error, a new quoted source the one that receives it.
 * Keeps e and p in step. Returns 0, or -1 when the headers are out of reach
 * (icmp_err_parse() checked they are not). */
static __always_inline int icmp_err_nat(void *data, void *data_end, struct pkt *p, struct icmp_error *e,
					enum quoted_end end, const __u8 *addr, __u16 port)
{
	struct icmp_err_hdr *icmp = data + (e->icmp_off & ICMP_ERR_OFF_MASK);
	__u16 *ports = data + (e->quote_l4_off & ICMP_ERR_OFF_MASK);
	__u8 *quoted_addr = end == QUOTED_DST ? e->quoted.daddr : e->quoted.saddr;
	__u8 *outer_addr = end == QUOTED_DST ? p->saddr : p->daddr;
	__u16 *quoted_port = end == QUOTED_DST ? &e->quoted.dport : &e->quoted.sport;
	__u64 delta, icmp_delta;

	if ((void *)(icmp + 1) > data_end || (void *)(ports + 2) > data_end)
		return -1;
	if (p->family == KPR_AF_INET) {
		struct iphdr *outer = data + L3_OFF;
		struct iphdr *iph = data + (e->quote_off & ICMP_ERR_OFF_MASK);

		if ((void *)(outer + 1) > data_end || (void *)(iph + 1) > data_end)
			return -1;
		delta = csum_addr_delta(quoted_addr, addr, KPR_AF_INET);
		/* The quoted header's sum does not change: its checksum takes up
		 * the address's delta. ICMP has no pseudo header. */
		iph->check = csum_apply(iph->check, delta);
		__builtin_memcpy(end == QUOTED_DST ? (void *)&iph->daddr : (void *)&iph->saddr, addr, 4);
		outer->check = csum_apply(outer->check, csum_addr_delta(outer_addr, addr, KPR_AF_INET));
		__builtin_memcpy(end == QUOTED_DST ? (void *)&outer->saddr : (void *)&outer->daddr, addr, 4);
		icmp_delta = 0;
	} else {
		struct ipv6hdr *outer = data + L3_OFF;
		struct ipv6hdr *ip6 = data + (e->quote_off & ICMP_ERR_OFF_MASK);

		if ((void *)(outer + 1) > data_end || (void *)(ip6 + 1) > data_end)
			return -1;
		delta = csum_addr_delta(quoted_addr, addr, KPR_AF_INET6);
		__builtin_memcpy(end == QUOTED_DST ? (void *)&ip6->daddr : (void *)&ip6->saddr, addr, 16);
		/* ICMPv6 sums the outer addresses in its pseudo header. */
		icmp_delta = delta + csum_addr_delta(outer_addr, addr, KPR_AF_INET6);
		__builtin_memcpy(end == QUOTED_DST ? (void *)&outer->saddr : (void *)&outer->daddr, addr, 16);
	}
	delta += csum_delta(quoted_port, &port, 2);
	icmp_delta += icmp_set16(&ports[end == QUOTED_DST ? 1 : 0], port);
	icmp_delta += icmp_quoted_l4_csum(data, data_end, e, delta);
	/* Found again: the verifier loses icmp's bounds across the calls. */
	icmp = data + (e->icmp_off & ICMP_ERR_OFF_MASK);
	if ((void *)(icmp + 1) > data_end)
		return -1;
	icmp->check = csum_apply(icmp->check, icmp_delta);
	if (p->family == KPR_AF_INET) {
		__builtin_memcpy(quoted_addr, addr, 4);
		__builtin_memcpy(outer_addr, addr, 4);
	} else {
		__builtin_memcpy(quoted_addr, addr, 16);
		__builtin_memcpy(outer_addr, addr, 16);
	}
	*quoted_port = port;
	return 0;
}

#endif
