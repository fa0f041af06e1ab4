// SPDX-License-Identifier: GPL-2.0
/* The packet generator of the edge packet-rate benchmark (tests/bench/
 * edge_pps.ts, tests/bench/xdpgen.c): run by BPF_PROG_TEST_RUN in live-frames
 * mode on one template UDP/IPv4 frame, it gives each repetition the next
 * source address and port of a fixed set and sends it out of the client's
 * device. So the load balancer sees many flows, each of them again and again,
 * as from a busy network, at a rate no socket-based sender reaches.
 *
 * The run recycles its pages without copying the frame into them again, and
 * whoever had a page last wrote into it (the node's forwarding rewrote the
 * MAC addresses and the TTL, a load balancer the destination, a DSR tunnel
 * the headers): each repetition writes the whole frame afresh. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "kpr_csum.h"

char LICENSE[] SEC("license") = "GPL";

#define GEN_FRAME_LEN 60

struct gen_config {
	__u8 frame[GEN_FRAME_LEN]; /* the template; source address and port are set per copy */
	__u32 ifindex;    /* where the frames leave */
	__u32 first_addr; /* host order: addrs addresses from here */
	__u32 addrs;
	__u32 ports;      /* source ports from first_port */
	__u32 first_port;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gen_config);
} bench_gen_config SEC(".maps");

/* The live-frames run stays on the CPU that started it: no atomics needed. */
__u64 bench_gen_seq = 0;

SEC("xdp")
int bench_xdp_gen(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u32 key = 0;
	struct gen_config *c = bpf_map_lookup_elem(&bench_gen_config, &key);

	if (!c || c->addrs == 0 || c->ports == 0 || data + GEN_FRAME_LEN > data_end)
		return XDP_ABORTED;
	__u64 n = bench_gen_seq++;

	__builtin_memcpy(data, c->frame, GEN_FRAME_LEN);

	ip->saddr = bpf_htonl(c->first_addr + (__u32)(n % c->addrs));
	ip->check = 0;
	ip->check = ~csum_fold(csum_words(ip, sizeof(*ip)));
	udp->source = bpf_htons(c->first_port + (__u32)((n / c->addrs) % c->ports));
	/* The template's UDP checksum is zero (none, as IPv4 allows): the port need not be summed. */
	return bpf_redirect(c->ifindex, 0);
}
