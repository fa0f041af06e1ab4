// SPDX-License-Identifier: GPL-2.0
/* Socket-level service load balancing: cgroup sock_addr hooks translate a
 * service address to a backend once, at connect() (or per datagram for
 * unconnected UDP), so packets never need NAT. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_sock_maps.h"
#include "kpr_sock_addr.h"
#include "kpr_sock_select.h"
#include "kpr_sock_revnat.h"

#define ECONNREFUSED 111
#define TCP_ESTABLISHED 1

/* sock_addr programs return 1 to let the call proceed, 0 to fail it. */
#define SYS_REJECT  0
#define SYS_PROCEED 1

char LICENSE[] SEC("license") = "GPL";

/* kube-proxy REJECTs a service without endpoints; the socket equivalent is
 * failing connect()/sendmsg() at once with ECONNREFUSED instead of EPERM. */
static __always_inline int reject(void)
{
	bpf_set_retval(-ECONNREFUSED);
	return SYS_REJECT;
}

static __always_inline int translatable(__u32 proto)
{
	return proto == KPR_PROTO_TCP || proto == KPR_PROTO_UDP || proto == KPR_PROTO_SCTP;
}

/* Whether the socket LB translates a connection to a in the caller's
 * network namespace: not in one bypassed (kpr_sock_bypass), nor, with
 * --bpf-lb-sock-hostns-only, in any but the node's own; a loopback address
 * only in the node's own (kube-proxy's localhost NodePorts are the host's). */
static __always_inline int translates_here(struct bpf_sock_addr *ctx, const struct sock_endpoint *a)
{
	__u64 cookie = bpf_get_netns_cookie(ctx);
	__u32 zero = 0;
	__u64 *host = bpf_map_lookup_elem(&kpr_sock_hostns, &zero);

	if (host && *host && *host != cookie)
		return 0;
	if (sock_endpoint_is_loopback(a)) {
		__u64 *node = bpf_map_lookup_elem(&kpr_sock_node_netns, &zero);

		if (!node || *node != cookie)
			return 0;
	}
	return !bpf_map_lookup_elem(&kpr_sock_bypass, &cookie);
}

/* Shared by connect() and sendmsg(): returns the verdict and leaves the
 * backend in *a. UDP sockets remember the translation for the reverse path. */
static __always_inline enum sock_verdict sock_forward(struct bpf_sock_addr *ctx, struct sock_endpoint *a)
{
	struct sock_endpoint frontend = *a;
	__u32 proto = ctx->protocol;
	__u32 svc_id = 0;
	enum sock_verdict v;

	if (!translatable(proto) || !translates_here(ctx, a))
		return SOCK_PASS;
	v = sock_translate(ctx, a, proto, &svc_id);
	if (v == SOCK_TRANSLATED && proto == KPR_PROTO_UDP)
		revnat_remember(ctx, &frontend, a, proto, svc_id);
	return v;
}

static __always_inline int forward4(struct bpf_sock_addr *ctx)
{
	struct sock_endpoint a;

	sock_endpoint_from_ctx4(ctx, &a);
	switch (sock_forward(ctx, &a)) {
	case SOCK_REJECT:
		return reject();
	case SOCK_TRANSLATED:
		if (a.family != KPR_AF_INET) {
			count_drop(KPR_SOCK_DROP_BACKEND_MISSING);
			return reject();
		}
		sock_endpoint_to_ctx4(ctx, a.addr, a.port);
		return SYS_PROCEED;
	default:
		return SYS_PROCEED;
	}
}

static __always_inline int forward6(struct bpf_sock_addr *ctx)
{
	struct sock_endpoint a;

	sock_endpoint_from_ctx6(ctx, &a);
	switch (sock_forward(ctx, &a)) {
	case SOCK_REJECT:
		return reject();
	case SOCK_TRANSLATED:
		sock_endpoint_to_ctx6(ctx, a.addr, a.family, a.port);
		return SYS_PROCEED;
	default:
		return SYS_PROCEED;
	}
}

static __always_inline int reverse4(struct bpf_sock_addr *ctx)
{
	struct sock_endpoint a;

	sock_endpoint_from_ctx4(ctx, &a);
	if (revnat_lookup(ctx, &a) && a.family == KPR_AF_INET)
		sock_endpoint_to_ctx4(ctx, a.addr, a.port);
	return SYS_PROCEED;
}

static __always_inline int reverse6(struct bpf_sock_addr *ctx)
{
	struct sock_endpoint a;

	sock_endpoint_from_ctx6(ctx, &a);
	if (revnat_lookup(ctx, &a))
		sock_endpoint_to_ctx6(ctx, a.addr, a.family, a.port);
	return SYS_PROCEED;
}

SEC("cgroup/connect4")
int kpr_connect4(struct bpf_sock_addr *ctx) { return forward4(ctx); }

SEC("cgroup/connect6")
int kpr_connect6(struct bpf_sock_addr *ctx) { return forward6(ctx); }

SEC("cgroup/sendmsg4")
int kpr_sendmsg4(struct bpf_sock_addr *ctx) { return forward4(ctx); }

SEC("cgroup/sendmsg6")
int kpr_sendmsg6(struct bpf_sock_addr *ctx) { return forward6(ctx); }

SEC("cgroup/recvmsg4")
int kpr_recvmsg4(struct bpf_sock_addr *ctx) { return reverse4(ctx); }

SEC("cgroup/recvmsg6")
int kpr_recvmsg6(struct bpf_sock_addr *ctx) { return reverse6(ctx); }

SEC("cgroup/getpeername4")
int kpr_getpeername4(struct bpf_sock_addr *ctx) { return reverse4(ctx); }

SEC("cgroup/getpeername6")
int kpr_getpeername6(struct bpf_sock_addr *ctx) { return reverse6(ctx); }

/* A connected UDP socket keeps its translated peer forever; when that backend
 * goes away the agent lists it in kpr_destroy and runs this iterator in each
 * network namespace, so the application gets an error and reconnects. It
 * emits one byte per destroyed socket: the reader counts them. */
extern int bpf_sock_destroy(struct sock_common *sk) __ksym;

SEC("iter/udp")
int kpr_destroy_udp(struct bpf_iter__udp *ctx)
{
	struct sock *sk = (struct sock *)ctx->udp_sk;
	struct sock_destroy_key k = {};

	if (!sk || sk->__sk_common.skc_state != TCP_ESTABLISHED)
		return 0;
	k.port = sk->__sk_common.skc_dport;
	if (sk->__sk_common.skc_family == KPR_AF_INET) {
		k.family = KPR_AF_INET;
		__builtin_memcpy(k.addr, &sk->__sk_common.skc_daddr, 4);
	} else {
		struct in6_addr d = sk->__sk_common.skc_v6_daddr;
		__u32 *w = (__u32 *)&d;

		/* A dual-stack socket connected to an IPv4 backend. */
		if (ip6_is_v4_mapped(w)) {
			k.family = KPR_AF_INET;
			__builtin_memcpy(k.addr, &w[3], 4);
		} else {
			k.family = KPR_AF_INET6;
			__builtin_memcpy(k.addr, &d, 16);
		}
	}
	if (bpf_map_lookup_elem(&kpr_destroy, &k) && bpf_sock_destroy((struct sock_common *)sk) == 0) {
		__u8 one = 1;

		bpf_seq_write(ctx->meta->seq, &one, sizeof(one));
	}
	return 0;
}
