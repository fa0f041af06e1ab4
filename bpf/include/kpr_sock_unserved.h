/* What the socket LB does with a connection no frontend takes: refused when
 * its address is a service's (a ClusterIP on a port it does not serve, or an
 * address of a service CIDR no service holds), as kube-proxy's nftables mode
 * rejects it; anything else goes its way untouched. */
#ifndef KPR_SOCK_UNSERVED_H
#define KPR_SOCK_UNSERVED_H

#include "kpr_sock_addr.h"
#include "kpr_sock_maps.h"
#include "kpr_sock_types.h"

static __always_inline enum sock_verdict unserved(const struct sock_endpoint *a)
{
	struct sock_range_key k = {
		.prefixlen = KPR_SOCK_RANGE_FIXED_BITS + (a->family == KPR_AF_INET ? 32 : 128),
		.family = a->family,
	};

	__builtin_memcpy(k.addr, a->addr, 16);
	if (!bpf_map_lookup_elem(&kpr_sock_service_ranges, &k))
		return SOCK_PASS;
	count_drop(KPR_SOCK_DROP_NO_SERVICE);
	return SOCK_REJECT;
}

#endif
