/* ICMP errors leaving a backend's node (tc egress) about a client's packet
 * to a backend here (quoted: client -> backend, e.g. the pod's port
 * unreachable, or this node's own fragmentation needed towards the pod):
 * they leave as the frontend's, quoting client -> frontend, from the
 * frontend, as the backend's replies do (kpr_edge_revnat.h). The frontend's
 * node does the rest (kpr_edge_icmp.h). */
#ifndef KPR_EDGE_ICMP_BACKEND_H
#define KPR_EDGE_ICMP_BACKEND_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_edge_revnat.h"
#include "kpr_icmp.h"
#include "kpr_edge_maps.h"

/* The error p, as it leaves: translated when it is one of those. Returns 0
 * (translated, or not one of those), or -1 when it could not be rewritten.
 * A reverse entry is read, not refreshed: an error keeps no flow alive. */
static __always_inline int icmp_to_client_skb(struct __sk_buff *skb, struct pkt *p)
{
	const struct edge_revnat_val *v;
	struct edge_revnat_key k = {};
	struct edge_revnat_val fe;
	struct icmp_error e;
	struct pkt reply;

	if (icmp_err_parse_skb(skb, p, &e))
		return 0;
	pkt_reversed(&e.quoted, &reply);
	revnat_key(&k, &reply, 0);
	v = bpf_map_lookup_elem(&kpr_edge_revnat, &k);
	if (!v)
		return 0;
	fe = *v;
	return icmp_err_nat((void *)(long)skb->data, (void *)(long)skb->data_end, p, &e, QUOTED_DST, fe.frontend_addr,
			    fe.frontend_port);
}

#endif
