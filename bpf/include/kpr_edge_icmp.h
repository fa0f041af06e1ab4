/* ICMP errors along the edge LB's paths. An error follows the flow whose
 * packet it quotes and is translated as that flow's packets are
 * (kpr_icmp.h), so that path MTU discovery and "connection refused" work
 * through the load balancer. On the frontend's node (XDP, here):
 *
 * - an error about a frontend's reply to a client (quoted: frontend ->
 *   client; a router before the client with a smaller MTU, or the client's
 *   port closed): found by the frontend and the client's flow, it goes to
 *   the flow's backend quoting the backend's own reply: up the stack to a
 *   backend on this node, in a DSR tunnel to the backend's node, or in snat
 *   mode as this node's error to the backend, quoting backend -> snat port.
 * - snat mode, an error about this node's packet to a backend (quoted:
 *   node:snat port -> backend; the backend's port closed, or a smaller MTU
 *   behind its node): becomes the client's, quoting client -> frontend.
 * - DSR: a client's packet too big for its tunnel is answered with
 *   fragmentation needed / packet too big, for the MTU less the tunnel
 *   (kpr_edge_dsr.h).
 *
 * On the backend's node, tc egress turns the errors about clients' packets
 * into the frontend's (kpr_edge_icmp_backend.h).
 *
 * An error only reads the flow tables: it never makes a flow, nor keeps one
 * alive. */
#ifndef KPR_EDGE_ICMP_H
#define KPR_EDGE_ICMP_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_addr.h"
#include "kpr_edge_select.h"
#include "kpr_edge_snat.h"
#include "kpr_edge_encap.h"
#include "kpr_edge_maps.h"
#include "kpr_icmp.h"

/* What the XDP paths below return besides an XDP action. */
#define ICMP_RESIZE_FAILED -1 /* the tunnel's header could not be added */
#define ICMP_FORWARD       -2 /* rewritten: to be sent on by the FIB */

/* The snat port of a client's flow to backend b through node, while the
 * entry on it is still that flow's; 0 otherwise. */
static __always_inline __u16 icmp_snat_port(const struct pkt *client, const struct edge_backend *b, const __u8 *node)
{
	struct edge_snat_port_key ck = {};
	struct edge_snat_key k = {};
	const struct edge_snat_val *v;
	const __u16 *port;

	snat_key(&k, client, b->addr, node, b->port);
	snat_client_key(&ck, client->saddr, client->sport, &k);
	port = bpf_map_lookup_elem(&kpr_edge_snat_ports, &ck);
	if (!port)
		return 0;
	k.snat_port = *port;
	v = bpf_map_lookup_elem(&kpr_edge_snat, &k);
	return v && snat_owned_by(v, client, k.snat_port) ? k.snat_port : 0;
}

/* The backend of a client's flow: its flow entry's, or, when that is gone,
 * the Maglev slot the client hashes to (random selection has none to find).
 * None for a flow the node's conntrack translated and kpr does not carry
 * (another proxy's, or one kpr cleanup handed over): its backend is
 * conntrack's, which relates the error to the flow once it is passed up
 * untouched; a Maglev slot would name some other backend. */
static __always_inline struct edge_backend *icmp_flow_backend(struct xdp_md *ctx, const struct pkt *client,
							      const struct edge_fe_val *fe)
{
	const struct edge_flow_val *v = flow_lookup(client, fe->svc_id);
	struct edge_backend *b;
	__u32 id;

	b = v ? stuck_backend(v->backend_id, fe->svc_id, &id) : NULL;
	if (b || (fe->flags & KPR_EDGE_F_RANDOM))
		return b;
	if (node_conntrack_translated(ctx, KPR_CTX_XDP, client))
		return NULL;
	return table_backend(client, fe, &id);
}

static __always_inline int icmp_nat_xdp(struct xdp_md *ctx, struct pkt *p, struct icmp_error *e, enum quoted_end end,
					const __u8 *addr, __u16 port)
{
	return icmp_err_nat((void *)(long)ctx->data, (void *)(long)ctx->data_end, p, e, end, addr, port);
}

/* XDP: the error e about a reply of the frontend fe to the client, whose
 * packet (client -> frontend) answered the quote, to the flow's backend.
 * node: this node's address of the family, or NULL. Returns XDP_PASS (to a
 * backend here, or untouched when the flow has no backend to reach),
 * ICMP_FORWARD or ICMP_RESIZE_FAILED. */
static __always_inline int icmp_to_backend(struct xdp_md *ctx, struct pkt *p, struct icmp_error *e,
					   const struct pkt *client, const struct edge_fe_val *fe, const __u8 *node)
{
	struct edge_backend *b;
	__u16 snat_port;

	b = icmp_flow_backend(ctx, client, fe);
	if (!b || b->family != p->family)
		return XDP_PASS;
	if (addr_is_zero(b->node_addr)) {
		/* Up the stack to the backend; as it came if it cannot be rewritten. */
		icmp_nat_xdp(ctx, p, e, QUOTED_SRC, b->addr, b->port);
		return XDP_PASS;
	}
	if (!node)
		return XDP_PASS;
	if (fe->flags & KPR_EDGE_F_SNAT) {
		snat_port = icmp_snat_port(client, b, node);
		if (!snat_port || icmp_nat_xdp(ctx, p, e, QUOTED_SRC, b->addr, b->port) ||
		    icmp_nat_xdp(ctx, p, e, QUOTED_DST, node, snat_port))
			return XDP_PASS;
		return ICMP_FORWARD;
	}
	if (icmp_nat_xdp(ctx, p, e, QUOTED_SRC, b->addr, b->port))
		return XDP_PASS;
	if (encap_dsr(ctx, p, node, b->node_addr, client->daddr, client->dport))
		return ICMP_RESIZE_FAILED;
	return ICMP_FORWARD;
}

/* XDP, snat mode: the error e about this node's packet to a backend, whose
 * reply (backend -> node:snat port) answered the quote, to the client whose
 * flow the snat port is. Returns ICMP_FORWARD, or XDP_PASS untouched when
 * no flow has the port. */
static __always_inline int icmp_to_client(struct xdp_md *ctx, struct pkt *p, struct icmp_error *e,
					  const struct pkt *reply)
{
	const struct edge_snat_val *v;
	struct edge_snat_val flow;

	/* reply is no packet that arrived (l4_valid is 0): it refreshes nothing. */
	v = snat_reply_flow(reply);
	if (!v)
		return XDP_PASS;
	flow = *v;
	if (icmp_nat_xdp(ctx, p, e, QUOTED_SRC, flow.client_addr, flow.client_port ? flow.client_port : reply->dport) ||
	    icmp_nat_xdp(ctx, p, e, QUOTED_DST, flow.frontend_addr, flow.frontend_port))
		return XDP_PASS;
	return ICMP_FORWARD;
}

#endif
