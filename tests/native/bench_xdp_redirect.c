// SPDX-License-Identifier: GPL-2.0
/* The floor of the edge packet-rate benchmark: on the node's external
 * device, every UDP/IPv4 packet goes straight to the backend's device with
 * the backend's and that device's MAC addresses, no lookup, no rewrite of
 * IP or ports. No load balancer can forward for less through XDP. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "kpr_parse.h"

char LICENSE[] SEC("license") = "GPL";

struct redirect_config {
	__u32 ifindex;
	__u8 dst[ETH_ALEN];
	__u8 src[ETH_ALEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct redirect_config);
} bench_redirect_config SEC(".maps");

SEC("xdp")
int bench_xdp_redirect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 key = 0;
	struct redirect_config *c;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->protocol != IPPROTO_UDP)
		return XDP_PASS;
	c = bpf_map_lookup_elem(&bench_redirect_config, &key);
	if (!c)
		return XDP_PASS;
	__builtin_memcpy(eth->h_dest, c->dst, ETH_ALEN);
	__builtin_memcpy(eth->h_source, c->src, ETH_ALEN);
	return bpf_redirect(c->ifindex, 0);
}
