// SPDX-License-Identifier: GPL-2.0
/* The counting end of the edge packet-rate benchmark, on the backend's
 * device: every UDP or IP-in-IP (kpr's DSR tunnel) IPv4 packet that reaches
 * the backend is counted and dropped there, so that the backend's own
 * answers cost the shared CPUs nothing. ARP and the rest pass: the node
 * must still resolve the backend. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "kpr_parse.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} bench_count SEC(".maps");

SEC("xdp")
int bench_xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	__u32 key = 0;
	__u64 *n;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	if (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_IPIP)
		return XDP_PASS;
	n = bpf_map_lookup_elem(&bench_count, &key);
	if (n)
		*n += 1;
	return XDP_DROP;
}
