/* IP fragments through the edge LB. Only a datagram's first fragment carries
 * the L4 header, so only it can be looked up and balanced by its ports; the
 * later fragments must go where it went, or the receiver never reassembles
 * the datagram. As in Cilium, the first fragment's outcome is kept in a map
 * keyed by what every fragment repeats (source, destination, protocol, IP
 * identification), and a later fragment gets the same L3 treatment from it:
 * the same addresses (with the IPv4 header checksum) and, for DSR, the same
 * tunnel. Never an L4 rewrite: the first fragment's L4 checksum, updated
 * for its new addresses and ports, is the whole datagram's and stays right.
 *
 * XDP records the first fragment of every TCP or UDP datagram it sees, kpr's
 * or not, so that a later fragment without an entry is one whose first was
 * never seen (or was dropped): it is dropped and counted as frag_not_found,
 * as Cilium does (DROP_FRAG_NOT_FOUND). tc egress records only the replies it
 * rewrites, and leaves any other later fragment alone: what leaves the node
 * is the node's own business. */
#ifndef KPR_EDGE_FRAG_H
#define KPR_EDGE_FRAG_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_addr.h"
#include "kpr_parse.h"
#include "kpr_edge_trace.h"
#include "kpr_edge_maps.h"

/* The datagram a fragment belongs to, from its addresses as it arrived. */
static __always_inline void frag_key(struct edge_frag_key *k, const struct pkt *p)
{
	__builtin_memcpy(k->saddr, p->saddr, 16);
	__builtin_memcpy(k->daddr, p->daddr, 16);
	k->id = p->frag_id;
	k->proto = p->proto;
	k->family = p->family;
	k->pad = 0;
}

static __always_inline const struct edge_frag_val *frag_lookup(const struct pkt *p)
{
	struct edge_frag_key k;

	frag_key(&k, p);
	return bpf_map_lookup_elem(&kpr_edge_fragments, &k);
}

/* XDP, a first fragment before anything is decided: its entry, keyed on
 * the addresses it arrived with and saying "drop" until frag_complete()
 * tells what became of it (a later fragment that arrives meanwhile is
 * dropped, as one before its first is). NULL when the map refused it. */
static __always_inline struct edge_frag_val *frag_begin(const struct pkt *p)
{
	struct edge_frag_val v = { .frontend_port = p->dport, .action = KPR_FRAG_DROP };
	struct edge_frag_key k;

	frag_key(&k, p);
	if (bpf_map_update_elem(&kpr_edge_fragments, &k, &v, BPF_ANY))
		return NULL;
	return bpf_map_lookup_elem(&kpr_edge_fragments, &k);
}

/* XDP: the first fragment left as p after decision d and action; one kpr
 * dropped or answered keeps "drop": a reject, or, with a DSR path, a packet
 * too big for the tunnel, which the client is told of with the packet it
 * sent (p no longer addressed to the backend). */
static __always_inline void frag_complete(struct edge_frag_val *v, const struct pkt *p, const struct decision *d,
					  int action)
{
	const struct edge_backend *b;
	__u8 to = KPR_FRAG_DROP;

	if (action == XDP_DROP)
		return;
	if (d->path == KPR_PATH_NONE && action == XDP_PASS)
		to = KPR_FRAG_PASS;
	else if (d->path == KPR_PATH_LOCAL)
		to = KPR_FRAG_LOCAL;
	else if (d->path == KPR_PATH_SNAT)
		to = KPR_FRAG_ROUTE;
	else if (d->path == KPR_PATH_DSR && (b = bpf_map_lookup_elem(&kpr_edge_backends, &d->backend_id)) &&
		 addr_equal(p->daddr, b->addr))
		to = KPR_FRAG_DSR;
	if (to == KPR_FRAG_DSR)
		__builtin_memcpy(v->tunnel_dst, b->node_addr, 16);
	__builtin_memcpy(v->saddr, p->saddr, 16);
	__builtin_memcpy(v->daddr, p->daddr, 16);
	v->action = to;
}

/* tc, a first fragment p (not yet rewritten) leaving from saddr to daddr
 * after action: a backend's reply about to leave as the frontend's
 * (KPR_FRAG_REPLY), or a pod's packet handed to a backend (KPR_FRAG_LOCAL,
 * kpr_pod_path.h). */
static __always_inline void frag_remember(const struct pkt *p, __u8 action, const __u8 *saddr, const __u8 *daddr)
{
	struct edge_frag_val v = { .action = action };
	struct edge_frag_key k;

	frag_key(&k, p);
	__builtin_memcpy(v.saddr, saddr, 16);
	__builtin_memcpy(v.daddr, daddr, 16);
	bpf_map_update_elem(&kpr_edge_fragments, &k, &v, BPF_ANY);
}

#endif
