// SPDX-License-Identifier: GPL-2.0
/* Passes every frame. Test networks put it on the switch side of a veth
 * whose other end runs kpr_xdp_lb: a veth hands frames sent back out by XDP
 * (XDP_TX, redirect) only to a peer that has an XDP program of its own. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}
