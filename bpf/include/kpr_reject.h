/* Rejecting a connection to a frontend without backends, as kube-proxy's
 * REJECT does, sent back out of the port the packet came in on: a TCP
 * segment is turned, in place, into the RST that answers it (RFC 9293
 * 3.10.7.1; a RST itself is dropped); a UDP datagram into the ICMP port
 * unreachable that quotes it (RFC 792, RFC 4443 3.1), so that the client
 * fails at once. */
#ifndef KPR_REJECT_H
#define KPR_REJECT_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "kpr_csum.h"
#include "kpr_parse.h"

#define KPR_REJECT_TTL 64
#define IP_DF          0x4000
#define IPPROTO_ICMPV6 58
#define ICMP_DEST_UNREACH 3
#define ICMP_PORT_UNREACH 3
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PORT_UNREACH 4
/* What an ICMP error quotes of the datagram: its IP header (IPv4: with
 * options; IPv6: with the Fragment header of a first fragment) and the
 * first 8 bytes after it, the UDP header. */
#define QUOTE_L4_LEN 8
#define QUOTE4_MAX (60 + QUOTE_L4_LEN)

struct rst_headers {
	struct ethhdr eth;
	union {
		struct iphdr v4;
		struct ipv6hdr v6;
	};
	struct tcphdr tcp;
};

/* The RST for the segment th: with ACK set it takes the segment's ACK number
 * as its sequence; otherwise it acknowledges everything the segment carried. */
static __always_inline void rst_tcp(struct tcphdr *rst, const struct tcphdr *th, const struct pkt *p)
{
	__u32 seg_len = l4_len(p) - tcp_hdr_len(th) + th->syn + th->fin;

	__builtin_memset(rst, 0, sizeof(*rst));
	rst->source = p->dport;
	rst->dest = p->sport;
	rst->doff = 5;
	rst->rst = 1;
	if (th->ack) {
		rst->seq = th->ack_seq;
	} else {
		rst->ack = 1;
		rst->ack_seq = bpf_htonl(bpf_ntohl(th->seq) + seg_len);
	}
}

static __always_inline void rst_ip(struct rst_headers *h, const struct pkt *p)
{
	__u64 sum = bpf_htons(IPPROTO_TCP) + bpf_htons(sizeof(h->tcp));

	if (p->family == KPR_AF_INET) {
		__builtin_memset(&h->v4, 0, sizeof(h->v4));
		h->v4.version = 4;
		h->v4.ihl = 5;
		h->v4.tot_len = bpf_htons(sizeof(h->v4) + sizeof(h->tcp));
		h->v4.frag_off = bpf_htons(IP_DF);
		h->v4.ttl = KPR_REJECT_TTL;
		h->v4.protocol = IPPROTO_TCP;
		__builtin_memcpy(&h->v4.saddr, p->daddr, 4);
		__builtin_memcpy(&h->v4.daddr, p->saddr, 4);
		h->v4.check = ~csum_fold(csum_words(&h->v4, sizeof(h->v4)));
		sum += csum_words(&h->v4.saddr, 8);
	} else {
		__builtin_memset(&h->v6, 0, sizeof(h->v6));
		h->v6.version = 6;
		h->v6.payload_len = bpf_htons(sizeof(h->tcp));
		h->v6.nexthdr = IPPROTO_TCP;
		h->v6.hop_limit = KPR_REJECT_TTL;
		__builtin_memcpy(&h->v6.saddr, p->daddr, 16);
		__builtin_memcpy(&h->v6.daddr, p->saddr, 16);
		sum += csum_words(&h->v6.saddr, 32);
	}
	h->tcp.check = ~csum_fold(sum + csum_words(&h->tcp, sizeof(h->tcp)));
}

/* Returns XDP_TX, XDP_DROP for a RST, or -1 when the packet could not be
 * resized. */
static __always_inline int reject_tcp(struct xdp_md *ctx, const struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 ip_len = p->family == KPR_AF_INET ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	__u32 new_len = sizeof(struct ethhdr) + ip_len + sizeof(struct tcphdr);
	struct ethhdr *eth = data;
	struct tcphdr *th = data + l4_offset(p);
	struct rst_headers h;

	if ((void *)(eth + 1) > data_end || (void *)(th + 1) > data_end)
		return -1;
	/* A RST is never answered (RFC 9293 3.10.7.1), as the kernel's REJECT
	 * does not answer one: it is dropped. */
	if (th->rst)
		return XDP_DROP;
	__builtin_memcpy(h.eth.h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(h.eth.h_source, eth->h_dest, ETH_ALEN);
	h.eth.h_proto = eth->h_proto;
	rst_tcp(&h.tcp, th, p);
	rst_ip(&h, p);

	/* Drop IPv4 options at the front, payload and TCP options at the end. */
	if (bpf_xdp_adjust_head(ctx, (int)(l4_offset(p) - L3_OFF - ip_len)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (bpf_xdp_adjust_tail(ctx, (int)new_len - (int)(data_end - data)))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (p->family == KPR_AF_INET) {
		if (data + sizeof(struct ethhdr) + sizeof(struct iphdr) + sizeof(struct tcphdr) > data_end)
			return -1;
		__builtin_memcpy(data, &h.eth, sizeof(h.eth));
		__builtin_memcpy(data + sizeof(h.eth), &h.v4, sizeof(h.v4));
		__builtin_memcpy(data + sizeof(h.eth) + sizeof(h.v4), &h.tcp, sizeof(h.tcp));
	} else {
		if (data + sizeof(struct ethhdr) + sizeof(struct ipv6hdr) + sizeof(struct tcphdr) > data_end)
			return -1;
		__builtin_memcpy(data, &h.eth, sizeof(h.eth));
		__builtin_memcpy(data + sizeof(h.eth), &h.v6, sizeof(h.v6));
		__builtin_memcpy(data + sizeof(h.eth) + sizeof(h.v6), &h.tcp, sizeof(h.tcp));
	}
	return XDP_TX;
}

struct icmp_unreach {
	__u8 type;
	__u8 code;
	__u16 check;
	__u32 unused;
};

/* Sum of the len (even, at most QUOTE4_MAX + 8) bytes at p, read within
 * data_end: the quoted datagram's length is only known at run time. */
static __always_inline __u64 csum_bytes(const void *p, __u32 len, const void *data_end)
{
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < (QUOTE4_MAX + sizeof(struct icmp_unreach)) / 2; i++) {
		const __u16 *w = p + 2 * i;

		if (2 * i >= len || (const void *)(w + 1) > data_end)
			break;
		sum += *w;
	}
	return sum;
}

/* Returns XDP_TX, or -1 when the packet could not be resized. The datagram's
 * own IP header and UDP header stay where they are, as the quote; the new
 * Ethernet, IP and ICMP headers go in front of them. */
static __always_inline int reject_udp(struct xdp_md *ctx, const struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	const int v4 = p->family == KPR_AF_INET;
	const __u32 ip_len = v4 ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);
	const __u32 quote_len = l4_offset(p) - L3_OFF + QUOTE_L4_LEN;
	const __u32 icmp_len = sizeof(struct icmp_unreach) + quote_len;
	struct ethhdr *eth = data, reply_eth;
	struct icmp_unreach *icmp;
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
		ip->ttl = KPR_REJECT_TTL;
		ip->protocol = IPPROTO_ICMP;
		__builtin_memcpy(&ip->saddr, p->daddr, 4);
		__builtin_memcpy(&ip->daddr, p->saddr, 4);
		ip->check = ~csum_fold(csum_words(ip, sizeof(*ip)));
		icmp->type = ICMP_DEST_UNREACH;
		icmp->code = ICMP_PORT_UNREACH;
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
		ip6->hop_limit = KPR_REJECT_TTL;
		__builtin_memcpy(&ip6->saddr, p->daddr, 16);
		__builtin_memcpy(&ip6->daddr, p->saddr, 16);
		icmp->type = ICMPV6_DEST_UNREACH;
		icmp->code = ICMPV6_PORT_UNREACH;
		sum = csum_words(&ip6->saddr, 32) + bpf_htons(icmp_len) + bpf_htons(IPPROTO_ICMPV6);
	}
	icmp->check = 0;
	icmp->unused = 0;
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

#endif
