/* Bounds-checked parsing of Ethernet / IPv4 / IPv6 / TCP / UDP for XDP and tc.
 *
 * What is not ours to judge goes to the stack untouched (PARSE_PASS): non-IP
 * frames (ARP, VLAN tags), malformed IP headers (the kernel drops those and
 * counts them itself), IPv6 extension headers and every fragment. Fragments:
 * only the first one carries ports, so balancing it while the rest go to the
 * stack would split one datagram; all fragments are passed alike.
 * A packet whose ports are readable but whose L4 header is not valid parses
 * with l4_valid = 0: it is dropped only if it turns out to be for a frontend. */
#ifndef KPR_PARSE_H
#define KPR_PARSE_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include "kpr_types.h"

#define ETH_ALEN     6
#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define IP_MF        0x2000
#define IP_OFFSET    0x1FFF
#define IPPROTO_DSTOPTS 60 /* IPv6 destination options (RFC 8200) */

enum parse_result {
	PARSE_OK,
	PARSE_PASS,
};

/* VLAN tags are not parsed: the IP header always follows Ethernet. */
#define L3_OFF sizeof(struct ethhdr)
/* Bounds the L4 offset (at most Ethernet + 60 bytes of IPv4 header) for the
 * verifier, which loses its range when struct pkt goes through the stack. */
#define L4_OFF_MASK 0x7f

/* Where the L4 header is and the flow it belongs to. */
struct pkt {
	__u32 l4_off;  /* from data; read through l4_offset() */
	__u32 l3_len;  /* IP total length, header included */
	__u8 family;   /* KPR_AF_* */
	__u8 proto;    /* IPPROTO_TCP / IPPROTO_UDP */
	__u8 l4_valid; /* full TCP/UDP header present and sane */
	__u8 tcp_flags; /* TCP: FIN, SYN, RST, ACK ... (byte 13 of the header); UDP: 0 */
	/* 8-byte aligned: an address is then copied in two loads, not sixteen,
	 * which keeps the programs' stacks small. */
	__u8 saddr[16] __attribute__((aligned(8)));
	__u8 daddr[16];
	__u16 sport;   /* network byte order */
	__u16 dport;
};

/* TCP header length from doff, or 0 when doff is below the minimum. */
static __always_inline __u32 tcp_hdr_len(const struct tcphdr *th)
{
	return th->doff >= 5 ? th->doff * 4 : 0;
}

static __always_inline __u32 l4_offset(const struct pkt *p)
{
	return p->l4_off & L4_OFF_MASK;
}

/* The L4 header and payload length. */
static __always_inline __u32 l4_len(const struct pkt *p)
{
	return p->l3_len - (l4_offset(p) - L3_OFF);
}

static __always_inline int parse_l4(void *data, void *data_end, struct pkt *p)
{
	__u32 len = l4_len(p);
	__u16 *ports = data + l4_offset(p);

	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP)
		return PARSE_PASS;
	if ((void *)(ports + 2) > data_end || len < 4)
		return PARSE_PASS;
	p->sport = ports[0];
	p->dport = ports[1];
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = data + l4_offset(p);
		__u32 hl;

		if ((void *)(th + 1) > data_end)
			return PARSE_OK;
		hl = tcp_hdr_len(th);
		p->l4_valid = hl && hl <= len;
		p->tcp_flags = ((__u8 *)th)[13];
	} else {
		struct udphdr *uh = data + l4_offset(p);

		if ((void *)(uh + 1) > data_end)
			return PARSE_OK;
		p->l4_valid = len >= sizeof(*uh) && bpf_ntohs(uh->len) >= sizeof(*uh) &&
			      bpf_ntohs(uh->len) <= len;
	}
	return PARSE_OK;
}

static __always_inline int parse_ipv4(void *data, void *data_end, __u32 avail, struct pkt *p)
{
	struct iphdr *iph = data + L3_OFF;
	__u32 hl;

	if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
		return PARSE_PASS;
	hl = iph->ihl * 4;
	p->l3_len = bpf_ntohs(iph->tot_len);
	/* Trailing bytes (Ethernet padding) are allowed, a short packet is not. */
	if (hl > avail || p->l3_len < hl || p->l3_len > avail)
		return PARSE_PASS;
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return PARSE_PASS;
	p->family = KPR_AF_INET;
	p->proto = iph->protocol;
	p->l4_off = L3_OFF + hl;
	__builtin_memcpy(p->saddr, &iph->saddr, 4);
	__builtin_memcpy(p->daddr, &iph->daddr, 4);
	return parse_l4(data, data_end, p);
}

static __always_inline int parse_ipv6(void *data, void *data_end, __u32 avail, struct pkt *p)
{
	struct ipv6hdr *ip6 = data + L3_OFF;

	if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
		return PARSE_PASS;
	p->l3_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
	if (p->l3_len > avail)
		return PARSE_PASS;
	p->family = KPR_AF_INET6;
	p->proto = ip6->nexthdr;
	p->l4_off = L3_OFF + sizeof(*ip6);
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->daddr, &ip6->daddr, 16);
	return parse_l4(data, data_end, p);
}

/* An Ethernet frame of frame_len bytes, of which data to data_end can be
 * read directly: all of it in XDP, the linear part of an skb in tc. */
static __always_inline int parse_frame(void *data, void *data_end, __u32 frame_len, struct pkt *p)
{
	struct ethhdr *eth = data;

	__builtin_memset(p, 0, sizeof(*p));
	if ((void *)(eth + 1) > data_end)
		return PARSE_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, frame_len - L3_OFF, p);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, frame_len - L3_OFF, p);
	return PARSE_PASS;
}

static __always_inline int parse_packet(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	return parse_frame(data, data_end, data_end - data, p);
}

#endif
