/* Bounds-checked parsing of Ethernet / IPv4 / IPv6 / TCP / UDP / SCTP for XDP and tc.
 *
 * What is not ours to judge goes to the stack untouched (PARSE_PASS): non-IP
 * frames (ARP, VLAN tags), malformed IP headers (the kernel drops those and
 * counts them itself), and IPv6 extension headers other than a Fragment
 * header right after the fixed header.
 * Fragments of TCP, UDP and SCTP parse (frag, frag_id): only the first carries
 * the L4 header, and so the ports; a later one parses without them, and
 * kpr_edge_frag.h makes it follow its first. Fragments of other protocols
 * are never kpr's and pass. An IPv6 atomic fragment (offset 0, no more to
 * come) is a whole packet (RFC 6946), its L4 header behind the Fragment header.
 * A packet whose ports are readable but whose L4 header is not valid parses
 * with l4_valid = 0: it is dropped only if it turns out to be for a frontend. */
#ifndef KPR_PARSE_H
#define KPR_PARSE_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include "kpr_consts.h"

#define ETH_ALEN     6
#define ETH_P_IP     0x0800
#define ETH_P_IPV6   0x86DD
#define IP_MF        0x2000
#define IP_OFFSET    0x1FFF
#define IPPROTO_DSTOPTS 60 /* IPv6 destination options (RFC 8200) */
#define IPPROTO_FRAGMENT 44 /* IPv6 Fragment header (RFC 8200 4.5) */
#define IP6_MF       0x0001
#define IP6_OFFSET   0xFFF8

enum parse_result {
	PARSE_OK,
	PARSE_PASS,
};

/* Which piece of a datagram a packet is. */
enum kpr_frag {
	KPR_FRAG_NONE = 0,  /* a whole datagram */
	KPR_FRAG_FIRST = 1, /* offset 0, more to come: has the L4 header */
	KPR_FRAG_LATER = 2, /* offset > 0: data only, no ports */
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
	__u8 proto;    /* IPPROTO_TCP / IPPROTO_UDP / IPPROTO_SCTP */
	__u8 l4_valid; /* full TCP/UDP/SCTP common header present and sane */
	__u8 tcp_flags; /* TCP: FIN, SYN, RST, ACK ... (byte 13 of the header); else 0 */
	/* 8-byte aligned: an address is then copied in two loads, not sixteen,
	 * which keeps the programs' stacks small. */
	__u8 saddr[16] __attribute__((aligned(8)));
	__u8 daddr[16];
	__u16 sport;   /* network byte order; 0 in a later fragment */
	__u16 dport;
	__u32 frag_id; /* a fragment's IP identification as on the wire (IPv4's 16 bits zero-extended) */
	__u8 frag;     /* enum kpr_frag */
};

/* SCTP's common header: ports, verification tag, checksum (RFC 9260 3.1). */
#define SCTP_COMMON_LEN 12
#define SCTP_CSUM_OFF   8

/* The transports whose first 4 bytes are the ports, which kpr balances. */
static __always_inline int proto_has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

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

	if (!proto_has_ports(p->proto))
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
	} else if (p->proto == IPPROTO_SCTP) {
		/* No length field: the packet runs to the end of the IP datagram. */
		p->l4_valid = len >= SCTP_COMMON_LEN && (void *)ports + SCTP_COMMON_LEN <= data_end;
	} else {
		struct udphdr *uh = data + l4_offset(p);

		if ((void *)(uh + 1) > data_end)
			return PARSE_OK;
		/* A first fragment holds only the start of what the UDP length counts. */
		p->l4_valid = len >= sizeof(*uh) && bpf_ntohs(uh->len) >= sizeof(*uh) &&
			      (bpf_ntohs(uh->len) <= len || p->frag == KPR_FRAG_FIRST);
	}
	return PARSE_OK;
}

/* A fragment (not an atomic one) whose protocol and L4 offset are set. */
static __always_inline int parse_fragment(void *data, void *data_end, struct pkt *p, __u32 id, int first)
{
	p->frag_id = id;
	if (first) {
		p->frag = KPR_FRAG_FIRST;
		return parse_l4(data, data_end, p);
	}
	p->frag = KPR_FRAG_LATER;
	return proto_has_ports(p->proto) ? PARSE_OK : PARSE_PASS;
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
	p->family = KPR_AF_INET;
	p->proto = iph->protocol;
	p->l4_off = L3_OFF + hl;
	__builtin_memcpy(p->saddr, &iph->saddr, 4);
	__builtin_memcpy(p->daddr, &iph->daddr, 4);
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return parse_fragment(data, data_end, p, iph->id, !(iph->frag_off & bpf_htons(IP_OFFSET)));
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
	if (p->proto == IPPROTO_FRAGMENT) {
		struct frag_hdr *fh = (void *)(ip6 + 1);

		if ((void *)(fh + 1) > data_end || p->l3_len < sizeof(*ip6) + sizeof(*fh))
			return PARSE_PASS;
		p->proto = fh->nexthdr;
		p->l4_off += sizeof(*fh);
		if (fh->frag_off & bpf_htons(IP6_MF | IP6_OFFSET))
			return parse_fragment(data, data_end, p, fh->identification, !(fh->frag_off & bpf_htons(IP6_OFFSET)));
	}
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
