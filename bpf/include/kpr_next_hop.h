/* The next hop of a packet towards a backend (a DSR tunnel to the backend's
 * node, a snat packet to the backend): the FIB's answer, kept per CPU for
 * KPR_EDGE_NEXT_HOP_TTL_NS. bpf_fib_lookup() was a sixth of a DSR packet's
 * whole cost in the edge-pps bench, and a node's packets to its backends ask
 * few questions, where replies to clients ask many (those go to the FIB each
 * time, kpr_fib.h). A route, neighbour or MTU change is followed once the
 * answer given before it is that old; a failed lookup (no route, no
 * neighbour entry yet) is not kept, so the next packet asks again. */
#ifndef KPR_NEXT_HOP_H
#define KPR_NEXT_HOP_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_consts.h"
#include "kpr_edge_maps.h"
#include "kpr_fib.h"
#include "kpr_hash.h"

/* fib's question, as it is kept. */
static __always_inline void next_hop_question(const struct bpf_fib_lookup *fib, struct edge_next_hop_question *q)
{
	if (fib->family == KPR_AF_INET) {
		__builtin_memcpy(q->dst, &fib->ipv4_dst, 4);
		q->flowinfo = fib->tos;
	} else {
		__builtin_memcpy(q->dst, fib->ipv6_dst, 16);
		q->flowinfo = fib->flowinfo;
	}
	q->ingress_ifindex = fib->ifindex;
	q->family = fib->family;
	q->proto = fib->l4_protocol;
}

/* The slot of question q on this CPU. */
static __always_inline struct edge_next_hop *next_hop_slot(const struct edge_next_hop_question *q)
{
	const __u32 *d = (const __u32 *)q->dst;
	__u32 slot = hash_mix(d[0] ^ d[1] ^ d[2] ^ d[3] ^ q->flowinfo ^ q->ingress_ifindex) & (KPR_EDGE_NEXT_HOP_SLOTS - 1);

	return bpf_map_lookup_elem(&kpr_edge_next_hops, &slot);
}

static __always_inline int same_question(const struct edge_next_hop_question *a, const struct edge_next_hop_question *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	__u64 diff = 0;

#pragma unroll
	for (int i = 0; i < (int)(sizeof(*a) / 8); i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}

/* As fib_forward_mtu(), from the answer kept for the same question while it
 * is fresh. */
static __noinline int next_hop_forward_mtu(struct xdp_md *ctx, __u8 family, __u32 *mtu)
{
	struct edge_next_hop_question q __attribute__((aligned(8))) = {};
	struct bpf_fib_lookup fib = {};
	struct edge_next_hop *h;
	__u64 now;
	int rc;

	if (fib_question(ctx, family, &fib))
		return -1;
	next_hop_question(&fib, &q);
	h = next_hop_slot(&q);
	now = bpf_ktime_get_coarse_ns();
	if (h && now < h->until_ns && same_question(&h->q, &q)) {
		if (fib.tot_len > h->mtu) {
			*mtu = h->mtu;
			return FIB_TOO_BIG;
		}
		return fib_send(ctx, h->ifindex, h->dmac, h->smac);
	}
	rc = fib_answer(ctx, &fib, mtu);
	if (rc)
		return rc;
	if (h) {
		h->q = q;
		h->until_ns = now + KPR_EDGE_NEXT_HOP_TTL_NS;
		h->ifindex = fib.ifindex;
		h->mtu = fib.mtu_result;
		__builtin_memcpy(h->dmac, fib.dmac, ETH_ALEN);
		__builtin_memcpy(h->smac, fib.smac, ETH_ALEN);
	}
	return fib_send(ctx, fib.ifindex, fib.dmac, fib.smac);
}

#endif
