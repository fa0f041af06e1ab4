// SPDX-License-Identifier: GPL-2.0
/* A deliberately invalid program for the addon's error-path test: it has
 * every map of sock_lb.o (so the loader gets as far as the verifier) and
 * reads past the end of a map value, which the verifier must refuse. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_sock_maps.h"

char LICENSE[] SEC("license") = "GPL";

SEC("cgroup/connect4")
int kpr_connect4(struct bpf_sock_addr *ctx)
{
	__u32 id = 0;
	struct sock_backend *b = bpf_map_lookup_elem(&kpr_backends, &id);

	if (!b)
		return 1;
	return ((__u8 *)b)[sizeof(*b) + 64];
}

/* The loader looks this program up by name. */
SEC("iter/udp")
int kpr_destroy_udp(struct bpf_iter__udp *ctx) { return 0; }
