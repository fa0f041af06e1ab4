/* Remembering how to answer a client as the frontend: whoever hands a
 * client's packet to a backend on this node records, keyed on the reply the
 * backend will send, the frontend the client asked for. tc_dsr.c rewrites
 * the reply's source with it on the way out. The entry lives as long as its
 * flow (kpr_flow_lifetime.h): packets both ways refresh it. */
#ifndef KPR_EDGE_REVNAT_H
#define KPR_EDGE_REVNAT_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_addr.h"
#include "kpr_edge_clock.h"
#include "kpr_flow_lifetime.h"
#include "kpr_parse.h"
#include "kpr_edge_maps.h"

/* The key of a flow's reply: backend side and client side, from whichever
 * direction p travels (to_backend: p goes client -> backend). */
static __always_inline void revnat_key(struct edge_revnat_key *k, const struct pkt *p, int to_backend)
{
	__builtin_memcpy(k->backend_addr, to_backend ? p->daddr : p->saddr, 16);
	__builtin_memcpy(k->client_addr, to_backend ? p->saddr : p->daddr, 16);
	k->backend_port = to_backend ? p->dport : p->sport;
	k->client_port = to_backend ? p->sport : p->dport;
	k->proto = p->proto;
	k->family = p->family;
}

/* p: the client's packet as it will reach the backend (destination = the
 * backend); fe_addr/fe_port: the frontend it was sent to. */
static __always_inline void revnat_remember(const struct pkt *p, const __u8 *fe_addr, __u16 fe_port)
{
	struct edge_revnat_key k = {};
	struct edge_revnat_val v = {};

	revnat_key(&k, p, 1);
	__builtin_memcpy(v.frontend_addr, fe_addr, 16);
	v.frontend_port = fe_port;
	v.state = ct_next_state(0, p->proto, p->tcp_flags, KPR_CT_FROM_CLIENT);
	v.seen_s = edge_clock();
	bpf_map_update_elem(&kpr_edge_revnat, &k, &v, BPF_ANY);
}

/* A client's packet p (destination = the backend) of the flow to fe: its
 * entry is refreshed, or written when there is none or it names another
 * frontend. */
static __always_inline void revnat_remember_or_refresh(const struct pkt *p, const __u8 *fe_addr, __u16 fe_port)
{
	struct edge_revnat_key k = {};
	struct edge_revnat_val *v;

	revnat_key(&k, p, 1);
	v = bpf_map_lookup_elem(&kpr_edge_revnat, &k);
	if (v && v->frontend_port == fe_port && addr_equal(v->frontend_addr, fe_addr))
		ct_touch(&v->seen_s, &v->state, edge_clock(), p->proto, p->tcp_flags, KPR_CT_FROM_CLIENT);
	else
		revnat_remember(p, fe_addr, fe_port);
}

/* A client's new TCP connection p made straight to a backend (no frontend
 * on its way): an entry an earlier connection through a frontend left for
 * the same ends must not turn this one's replies into the frontend's. */
static __always_inline void revnat_forget(const struct pkt *p)
{
	struct edge_revnat_key k = {};

	revnat_key(&k, p, 1);
	bpf_map_delete_elem(&kpr_edge_revnat, &k);
}

/* A client's packet p handed to a backend on this node (destination = the
 * backend) of the flow to fe: what its replies need is written once per
 * connection, and refreshed with the flow's entry (at most once a second):
 * a map update on every packet would cost more than all the rest. A client
 * may open a connection from the port of an ended one, to another frontend
 * of the same service: the flow entry is the same, the frontend its replies
 * must come from is not. */
static __always_inline void revnat_note(const struct pkt *p, const __u8 *fe_addr, __u16 fe_port, int new_flow,
					int refreshed)
{
	if (new_flow || (p->proto == IPPROTO_TCP && ct_opening(p->tcp_flags)))
		revnat_remember(p, fe_addr, fe_port);
	else if (refreshed)
		revnat_remember_or_refresh(p, fe_addr, fe_port);
}

/* The frontend a reply p (backend -> client) must come from, or NULL; the
 * entry is refreshed. */
static __always_inline const struct edge_revnat_val *revnat_lookup(const struct pkt *p)
{
	struct edge_revnat_key k = {};
	struct edge_revnat_val *v;

	revnat_key(&k, p, 0);
	v = bpf_map_lookup_elem(&kpr_edge_revnat, &k);
	if (v)
		ct_touch(&v->seen_s, &v->state, edge_clock(), p->proto, p->tcp_flags, KPR_CT_FROM_BACKEND);
	return v;
}

#endif
