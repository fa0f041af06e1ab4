// SPDX-License-Identifier: GPL-2.0
/* Passes every packet: another program in kpr's tc slot of a pod's
 * interface, as a CNI's own datapath would hold it, which the per-packet
 * path must leave alone (tests/datapath/pod_path.test.ts). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tc")
int tc_pass(struct __sk_buff *skb)
{
	return 0; /* TC_ACT_OK */
}
