// SPDX-License-Identifier: GPL-2.0
/* A floor of the edge packet-rate benchmark for kpr's design: its own work on a
 * balanced packet, in each mode, with none of its lookups. Each program
 * runs kpr's functions (parse, rewrite, the tunnel in dsr mode, the kept
 * next hop) on kpr's own maps, which xdpgen hands it from the running agent,
 * but looks up neither a frontend nor a flow, an affinity or a snat port:
 * every UDP packet goes to the first backend the agent wrote, with the
 * client's own port as the snat port. What kpr costs above this floor is
 * what finding the frontend and keeping the flow's state cost; what this
 * floor costs above the redirect-only one is the packet's rewrite and
 * route, which any load balancer of the same kind pays. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_edge_config.h"
#include "kpr_edge_dsr.h"
#include "kpr_edge_maps.h"
#include "kpr_edge_verdict.h"
#include "kpr_nat.h"
#include "kpr_parse.h"

char LICENSE[] SEC("license") = "GPL";

/* The first backend's id + 1, found once; 0 until then. */
static __u32 first_backend_id;

static int find_backend(__u32 id, void *found)
{
	struct edge_backend *b = bpf_map_lookup_elem(&kpr_edge_backends, &id);

	if (!b || !b->svc_id)
		return 0;
	*(__u32 *)found = id + 1;
	return 1;
}

/* The packet to balance and the backend it goes to, or NULL for a packet
 * left to the stack. */
static __always_inline const struct edge_backend *work_of(struct xdp_md *ctx, struct pkt *p,
							  const __u8 **src)
{
	const struct edge_config *cfg = edge_config();
	__u32 id;

	if (parse_packet(ctx, p) != PARSE_OK || p->proto != IPPROTO_UDP || !p->l4_valid || !cfg)
		return NULL;
	*src = node_addr(cfg, p->family);
	if (!*src)
		return NULL;
	if (!first_backend_id) {
		__u32 found = 0; /* bpf_loop() takes a pointer to the stack only */

		bpf_loop(KPR_EDGE_BACKEND_MAX, find_backend, &found, 0);
		first_backend_id = found;
	}
	id = first_backend_id - 1;
	return first_backend_id ? bpf_map_lookup_elem(&kpr_edge_backends, &id) : NULL;
}

SEC("xdp")
int bench_xdp_dsr_work(struct xdp_md *ctx)
{
	const struct edge_backend *b;
	const __u8 *src;
	struct pkt p;

	b = work_of(ctx, &p, &src);
	return b ? forward_dsr(ctx, &p, src, b) : XDP_PASS;
}

SEC("xdp")
int bench_xdp_snat_work(struct xdp_md *ctx)
{
	const struct edge_backend *b;
	const __u8 *src;
	struct pkt p;
	int reason;

	b = work_of(ctx, &p, &src);
	if (!b)
		return XDP_PASS;
	reason = nat_rewrite(ctx, &p, NAT_SRC, src, p.sport);
	if (!reason)
		reason = nat_rewrite(ctx, &p, NAT_DST, b->addr, b->port);
	return reason ? nat_refused(reason) : forward_to_backend(ctx, p.family);
}
