/* This node as the edge LB knows it (kpr_xdp_config, written by the agent):
 * its addresses, the Maglev parameters, the flow timeouts, the snat ports
 * and the datapath clock (kpr_edge_clock.h). */
#ifndef KPR_EDGE_CONFIG_H
#define KPR_EDGE_CONFIG_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_addr.h"
#include "kpr_edge_maps.h"

static __always_inline struct edge_config *edge_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&kpr_xdp_config, &zero);
}

/* This node's address of the packet's family, or NULL when it has none. */
static __always_inline const __u8 *node_addr(const struct edge_config *cfg, __u8 family)
{
	__u32 v4;

	if (family == KPR_AF_INET6)
		return addr_is_zero(cfg->node_addr6) ? NULL : cfg->node_addr6;
	__builtin_memcpy(&v4, cfg->node_addr4, 4);
	return v4 ? cfg->node_addr4 : NULL;
}

#endif
