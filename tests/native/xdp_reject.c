// SPDX-License-Identifier: GPL-2.0
/* A deliberately invalid edge LB for the load-failure fault test: it has
 * every map of xdp_lb.o (so the loader gets as far as the verifier) and
 * reads past the end of a map value, which the verifier must refuse. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_edge_maps.h"

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int kpr_xdp_lb(struct xdp_md *ctx)
{
	__u32 id = 0;
	struct edge_backend *b = bpf_map_lookup_elem(&kpr_edge_backends, &id);

	if (!b)
		return XDP_PASS;
	return ((__u8 *)b)[sizeof(*b) + 64];
}
