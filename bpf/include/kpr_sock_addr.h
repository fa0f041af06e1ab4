/* Reading and writing the address of a socket hook's context in one family-
 * neutral form, so the load-balancing logic is written once for IPv4 and IPv6. */
#ifndef KPR_SOCK_ADDR_H
#define KPR_SOCK_ADDR_H

#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include "kpr_consts.h"

struct sock_endpoint {
	__u8 addr[16];
	__u16 port;   /* network byte order */
	__u8 family;
};

/* 127.0.0.0/8 or ::1: an address that means the caller's own namespace. */
static __always_inline int sock_endpoint_is_loopback(const struct sock_endpoint *a)
{
	__u32 w[4];

	__builtin_memcpy(w, a->addr, 16);
	if (a->family == KPR_AF_INET)
		return a->addr[0] == 127;
	return w[0] == 0 && w[1] == 0 && w[2] == 0 && w[3] == bpf_htonl(1);
}

static __always_inline void sock_endpoint_from_ctx4(const struct bpf_sock_addr *ctx, struct sock_endpoint *a)
{
	__builtin_memset(a, 0, sizeof(*a));
	__u32 ip = ctx->user_ip4;
	__builtin_memcpy(a->addr, &ip, 4);
	a->port = (__u16)ctx->user_port;
	a->family = KPR_AF_INET;
}

/* An IPv6 socket may name an IPv4 service as ::ffff:a.b.c.d; that is the
 * IPv4 service, reached through the IPv4-mapped form. */
static __always_inline int ip6_is_v4_mapped(const __u32 w[4])
{
	return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0x0000ffff);
}

static __always_inline void sock_endpoint_from_ctx6(const struct bpf_sock_addr *ctx, struct sock_endpoint *a)
{
	__u32 w[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };

	__builtin_memset(a, 0, sizeof(*a));
	a->port = (__u16)ctx->user_port;
	if (ip6_is_v4_mapped(w)) {
		__builtin_memcpy(a->addr, &w[3], 4);
		a->family = KPR_AF_INET;
	} else {
		__builtin_memcpy(a->addr, w, 16);
		a->family = KPR_AF_INET6;
	}
}

static __always_inline void sock_endpoint_to_ctx4(struct bpf_sock_addr *ctx, const __u8 addr[16], __u16 port)
{
	__u32 ip;

	__builtin_memcpy(&ip, addr, 4);
	ctx->user_ip4 = ip;
	ctx->user_port = port;
}

/* Writes an address back to an IPv6 hook, as IPv4-mapped when it is IPv4. */
static __always_inline void sock_endpoint_to_ctx6(struct bpf_sock_addr *ctx, const __u8 addr[16], __u8 family, __u16 port)
{
	__u32 w[4];

	if (family == KPR_AF_INET) {
		w[0] = 0;
		w[1] = 0;
		w[2] = bpf_htonl(0x0000ffff);
		__builtin_memcpy(&w[3], addr, 4);
	} else {
		__builtin_memcpy(w, addr, 16);
	}
	ctx->user_ip6[0] = w[0];
	ctx->user_ip6[1] = w[1];
	ctx->user_ip6[2] = w[2];
	ctx->user_ip6[3] = w[3];
	ctx->user_port = port;
}

#endif
