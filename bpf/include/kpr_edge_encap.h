/* DSR tunnels: the client's packet, already addressed to the backend, inside
 * an outer IPv4 (IPIP, protocol 4) or IPv6 (IP6IP6) header from this node to
 * the backend's node, whose tc program (tc_dsr.c) removes it. The outer
 * header names the frontend (kpr_dsr_opt4/6), which that node needs to
 * answer the client as the frontend. The Ethernet header moves
 * to the new front; its addresses are set by the FIB lookup afterwards. */
#ifndef KPR_EDGE_ENCAP_H
#define KPR_EDGE_ENCAP_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "kpr_csum.h"
#include "kpr_parse.h"

/* A DSR tunnel names the frontend the client asked for, since the inner
 * packet is already addressed to the backend: in an IPv4 option of the outer
 * header, or in an IPv6 destination option. The types are the RFC 4727
 * experiment values (IPv4: copied, class 0, number 30; IPv6: skip if
 * unknown), so a host without kpr ignores them. */
#define KPR_DSR_OPT4_TYPE 0x9e
#define KPR_DSR_OPT6_TYPE 0x1e

struct kpr_dsr_opt4 {
	__u8 type;
	__u8 len;     /* 8 */
	__u16 port;   /* frontend port, network order */
	__u8 addr[4]; /* frontend address */
};

struct kpr_dsr_opt6 {
	__u8 nexthdr;    /* IPPROTO_IPV6: the inner packet */
	__u8 hdrlen;     /* 2: 24 bytes in 8-byte units, less one */
	__u8 type;
	__u8 len;        /* 18 */
	__u8 addr[16];   /* frontend address */
	__u16 port;      /* frontend port, network order */
	__u8 padn[2];    /* PadN of no data: the header ends on 8 bytes */
};

/* The outer headers, option included. */
struct ipip_outer {
	struct iphdr ip;
	struct kpr_dsr_opt4 opt;
};

struct ip6ip6_outer {
	struct ipv6hdr ip6;
	struct kpr_dsr_opt6 opt;
};

/* Makes room for len bytes of outer headers in front of the IP header and
 * moves the Ethernet header there. On success *outer points at the gap,
 * followed within the packet by at least inner_len bytes of the inner packet. */
static __always_inline int encap_push(struct xdp_md *ctx, const int len, const int inner_len, void **outer)
{
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, -len))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(struct ethhdr) + len + inner_len > data_end)
		return -1;
	__builtin_memcpy(data, data + len, sizeof(struct ethhdr));
	*outer = data + sizeof(struct ethhdr);
	return 0;
}

/* Takes back what encap_push() added: the Ethernet header returns to the
 * inner packet's front. */
static __always_inline int encap_pop(struct xdp_md *ctx, const int len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (data + sizeof(struct ethhdr) + len > data_end)
		return -1;
	__builtin_memcpy(data + len, data, sizeof(struct ethhdr));
	return bpf_xdp_adjust_head(ctx, len) ? -1 : 0;
}

/* The bytes a tunnel of the family adds. */
static __always_inline int encap_len(__u8 family)
{
	return family == KPR_AF_INET ? sizeof(struct ipip_outer) : sizeof(struct ip6ip6_outer);
}

/* fe_addr/fe_port: the frontend the client sent to (port in network order). */
static __always_inline int encap_ipip(struct xdp_md *ctx, const struct pkt *p, const __u8 *src, const __u8 *dst,
				      const __u8 *fe_addr, __u16 fe_port)
{
	struct ipip_outer *outer;
	struct iphdr *inner;

	if (encap_push(ctx, sizeof(*outer), sizeof(*inner), (void **)&outer))
		return -1;
	inner = (void *)(outer + 1);
	outer->ip.version = 4;
	outer->ip.ihl = sizeof(*outer) / 4;
	outer->ip.tos = inner->tos;
	outer->ip.tot_len = bpf_htons(p->l3_len + sizeof(*outer));
	outer->ip.id = 0;
	outer->ip.frag_off = 0;
	outer->ip.ttl = KPR_TTL;
	outer->ip.protocol = IPPROTO_IPIP;
	outer->ip.check = 0;
	__builtin_memcpy(&outer->ip.saddr, src, 4);
	__builtin_memcpy(&outer->ip.daddr, dst, 4);
	outer->opt.type = KPR_DSR_OPT4_TYPE;
	outer->opt.len = sizeof(outer->opt);
	outer->opt.port = fe_port;
	__builtin_memcpy(outer->opt.addr, fe_addr, 4);
	outer->ip.check = ~csum_fold(csum_words(outer, sizeof(*outer)));
	return 0;
}

/* The outer header copies the inner version, traffic class and flow label:
 * the client's flow label keeps its ECMP entropy across the tunnel. */
static __always_inline int encap_ip6ip6(struct xdp_md *ctx, const struct pkt *p, const __u8 *src, const __u8 *dst,
					const __u8 *fe_addr, __u16 fe_port)
{
	struct ip6ip6_outer *outer;

	if (encap_push(ctx, sizeof(*outer), sizeof(struct ipv6hdr), (void **)&outer))
		return -1;
	__builtin_memcpy(&outer->ip6, outer + 1, 4);
	outer->ip6.payload_len = bpf_htons(p->l3_len + sizeof(outer->opt));
	outer->ip6.nexthdr = IPPROTO_DSTOPTS;
	outer->ip6.hop_limit = KPR_TTL;
	__builtin_memcpy(&outer->ip6.saddr, src, 16);
	__builtin_memcpy(&outer->ip6.daddr, dst, 16);
	outer->opt.nexthdr = IPPROTO_IPV6;
	outer->opt.hdrlen = sizeof(outer->opt) / 8 - 1;
	outer->opt.type = KPR_DSR_OPT6_TYPE;
	outer->opt.len = sizeof(outer->opt.addr) + sizeof(outer->opt.port);
	__builtin_memcpy(outer->opt.addr, fe_addr, 16);
	outer->opt.port = fe_port;
	outer->opt.padn[0] = 1; /* PadN */
	outer->opt.padn[1] = 0;
	return 0;
}

/* p, from src to the backend's node dst, in the tunnel of its family. */
static __always_inline int encap_dsr(struct xdp_md *ctx, const struct pkt *p, const __u8 *src, const __u8 *dst,
				     const __u8 *fe_addr, __u16 fe_port)
{
	return p->family == KPR_AF_INET ? encap_ipip(ctx, p, src, dst, fe_addr, fe_port)
					: encap_ip6ip6(ctx, p, src, dst, fe_addr, fe_port);
}

#endif
