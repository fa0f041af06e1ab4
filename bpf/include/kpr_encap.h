/* DSR tunnels: the client's packet, untouched, inside an outer IPv4 (IPIP,
 * protocol 4) or IPv6 (IP6IP6, next header 41) header from this node to the
 * backend's node, whose tc program removes it. The Ethernet header moves to
 * the new front; its addresses are set by the FIB lookup afterwards. */
#ifndef KPR_ENCAP_H
#define KPR_ENCAP_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "kpr_csum.h"
#include "kpr_parse.h"

#define KPR_ENCAP_TTL 64

/* Makes room for an outer header of len bytes in front of the IP header and
 * moves the Ethernet header there. On success *outer points at the gap, with
 * the inner IP header (at least len bytes, as the outer has the inner's
 * family) after it within the packet. */
static __always_inline int encap_push(struct xdp_md *ctx, const int len, void **outer)
{
	void *data, *data_end;

	if (bpf_xdp_adjust_head(ctx, -len))
		return -1;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(struct ethhdr) + 2 * len > data_end)
		return -1;
	__builtin_memcpy(data, data + len, sizeof(struct ethhdr));
	*outer = data + sizeof(struct ethhdr);
	return 0;
}

static __always_inline int encap_ipip(struct xdp_md *ctx, const struct pkt *p, const __u8 *src, const __u8 *dst)
{
	struct iphdr *outer, *inner;

	if (encap_push(ctx, sizeof(*outer), (void **)&outer))
		return -1;
	inner = outer + 1;
	outer->version = 4;
	outer->ihl = 5;
	outer->tos = inner->tos;
	outer->tot_len = bpf_htons(p->l3_len + sizeof(*outer));
	outer->id = 0;
	outer->frag_off = 0;
	outer->ttl = KPR_ENCAP_TTL;
	outer->protocol = IPPROTO_IPIP;
	outer->check = 0;
	__builtin_memcpy(&outer->saddr, src, 4);
	__builtin_memcpy(&outer->daddr, dst, 4);
	outer->check = ~csum_fold(csum_words(outer, sizeof(*outer)));
	return 0;
}

/* The outer header copies the inner version, traffic class and flow label:
 * the client's flow label keeps its ECMP entropy across the tunnel. */
static __always_inline int encap_ip6ip6(struct xdp_md *ctx, const struct pkt *p, const __u8 *src, const __u8 *dst)
{
	struct ipv6hdr *outer;

	if (encap_push(ctx, sizeof(*outer), (void **)&outer))
		return -1;
	__builtin_memcpy(outer, outer + 1, 4);
	outer->payload_len = bpf_htons(p->l3_len);
	outer->nexthdr = IPPROTO_IPV6;
	outer->hop_limit = KPR_ENCAP_TTL;
	__builtin_memcpy(&outer->saddr, src, 16);
	__builtin_memcpy(&outer->daddr, dst, 16);
	return 0;
}

#endif
