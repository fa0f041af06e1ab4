/* Rejecting a connection to a frontend without backends, as kube-proxy's
 * REJECT does, sent back out of the port the packet came in on: a TCP
 * segment is turned, in place, into the RST that answers it (RFC 9293
 * 3.10.7.1; a RST itself is dropped); a UDP datagram or SCTP packet into the
 * ICMP port unreachable that quotes it (RFC 792, RFC 4443 3.1), so that the client
 * fails at once. */
#ifndef KPR_REJECT_H
#define KPR_REJECT_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "kpr_csum.h"
#include "kpr_icmp.h"
#include "kpr_parse.h"

#define IP_DF          0x4000

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
		h->v4.ttl = KPR_TTL;
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
		h->v6.hop_limit = KPR_TTL;
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

/* Returns XDP_TX, or -1 when the packet could not be resized. */
static __always_inline int reject_udp(struct xdp_md *ctx, const struct pkt *p)
{
	if (p->family == KPR_AF_INET)
		return icmp_reply(ctx, p, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0);
	return icmp_reply(ctx, p, ICMPV6_DEST_UNREACH, ICMPV6_PORT_UNREACH, 0);
}

#endif
