/* Sending a rewritten or encapsulated packet on: the kernel's FIB picks the
 * next hop and its MAC, and says when the packet (with its tunnel header)
 * is above the MTU towards it. Failure (no route, no neighbour entry yet,
 * forwarding disabled) is a drop:
 * handing the packet to the stack would not help, since its outer source is
 * this node's own address, which the stack refuses on input as martian.
 * Packets towards backends keep the answer a moment (kpr_next_hop.h). */
#ifndef KPR_FIB_H
#define KPR_FIB_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "kpr_parse.h"

/* fib_forward_mtu(): the packet is larger than the MTU towards its next hop. */
#define FIB_TOO_BIG -2

/* The question for the packet in ctx: its addresses, protocol and length,
 * asked on the device it came in on. -1 when its header is short. */
static __always_inline int fib_question(struct xdp_md *ctx, __u8 family, struct bpf_fib_lookup *fib)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (family == KPR_AF_INET) {
		struct iphdr *iph = data + sizeof(struct ethhdr);

		if ((void *)(iph + 1) > data_end)
			return -1;
		fib->family = KPR_AF_INET;
		fib->tos = iph->tos;
		fib->l4_protocol = iph->protocol;
		fib->tot_len = bpf_ntohs(iph->tot_len);
		fib->ipv4_src = iph->saddr;
		fib->ipv4_dst = iph->daddr;
	} else {
		struct ipv6hdr *ip6 = data + sizeof(struct ethhdr);

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		fib->family = KPR_AF_INET6;
		fib->flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0fffffff);
		fib->l4_protocol = ip6->nexthdr;
		fib->tot_len = bpf_ntohs(ip6->payload_len) + sizeof(*ip6);
		__builtin_memcpy(fib->ipv6_src, &ip6->saddr, 16);
		__builtin_memcpy(fib->ipv6_dst, &ip6->daddr, 16);
	}
	fib->ifindex = ctx->ingress_ifindex;
	return 0;
}

/* The kernel's answer to fib: 0 with the device, MACs and the MTU towards
 * the next hop (mtu_result) in it; -1 when it has none; or FIB_TOO_BIG with
 * that MTU in *mtu. */
static __always_inline int fib_answer(struct xdp_md *ctx, struct bpf_fib_lookup *fib, __u32 *mtu)
{
	long rc = bpf_fib_lookup(ctx, fib, sizeof(*fib), 0);

	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED) {
		*mtu = fib->mtu_result;
		return FIB_TOO_BIG;
	}
	return rc == BPF_FIB_LKUP_RET_SUCCESS ? 0 : -1;
}

/* The packet out of device ifindex, from smac to dmac: XDP_TX or XDP_REDIRECT. */
static __always_inline int fib_send(struct xdp_md *ctx, __u32 ifindex, const __u8 *dmac, const __u8 *smac)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return -1;
	__builtin_memcpy(eth->h_dest, dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, smac, ETH_ALEN);
	if (ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	return bpf_redirect(ifindex, 0);
}

/* Returns XDP_TX or XDP_REDIRECT; -1 when the FIB has no answer; or
 * FIB_TOO_BIG with that MTU in *mtu. */
static __always_inline int fib_forward_mtu(struct xdp_md *ctx, __u8 family, __u32 *mtu)
{
	struct bpf_fib_lookup fib = {};
	int rc;

	if (fib_question(ctx, family, &fib))
		return -1;
	rc = fib_answer(ctx, &fib, mtu);
	if (rc)
		return rc;
	return fib_send(ctx, fib.ifindex, fib.dmac, fib.smac);
}

/* Returns XDP_TX or XDP_REDIRECT, or a negative number when the FIB has no
 * answer or the packet is too big for the next hop. */
static __always_inline int fib_forward(struct xdp_md *ctx, __u8 family)
{
	__u32 mtu;

	return fib_forward_mtu(ctx, family, &mtu);
}

#endif
