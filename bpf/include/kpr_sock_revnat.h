/* Reverse translation for UDP: what a socket was translated to is remembered
 * per socket, so that replies and getpeername() show the service address. */
#ifndef KPR_SOCK_REVNAT_H
#define KPR_SOCK_REVNAT_H

#include "kpr_sock_maps.h"
#include "kpr_sock_addr.h"

static __always_inline void revnat_key_init(struct sock_revnat_key *k, __u64 cookie, const struct sock_endpoint *backend)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->cookie = cookie;
	__builtin_memcpy(k->addr, backend->addr, 16);
	k->port = backend->port;
	k->family = backend->family;
}

static __always_inline void revnat_remember(void *ctx, const struct sock_endpoint *frontend,
					    const struct sock_endpoint *backend, __u8 proto, __u32 svc_id)
{
	struct sock_revnat_key k;
	struct sock_revnat_val v = {};

	revnat_key_init(&k, bpf_get_socket_cookie(ctx), backend);
	__builtin_memcpy(v.addr, frontend->addr, 16);
	v.port = frontend->port;
	v.family = frontend->family;
	v.proto = proto;
	v.svc_id = svc_id;
	if (bpf_map_update_elem(&kpr_revnat, &k, &v, BPF_ANY))
		count_drop(KPR_SOCK_DROP_REVNAT_FULL);
}

/* Rewrites *a from a backend back to its service when this socket was
 * translated to it and the service still exists. */
static __always_inline int revnat_lookup(void *ctx, struct sock_endpoint *a)
{
	struct sock_revnat_key k;
	struct sock_revnat_val *v;
	struct sock_svc_key sk = {};

	revnat_key_init(&k, bpf_get_socket_cookie(ctx), a);
	v = bpf_map_lookup_elem(&kpr_revnat, &k);
	if (!v)
		return 0;
	__builtin_memcpy(sk.addr, v->addr, 16);
	sk.port = v->port;
	sk.proto = v->proto;
	sk.family = v->family;
	if (!bpf_map_lookup_elem(&kpr_services, &sk))
		return 0;
	__builtin_memcpy(a->addr, v->addr, 16);
	a->port = v->port;
	a->family = v->family;
	return 1;
}

#endif
