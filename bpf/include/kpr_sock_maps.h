/* Every map of the socket load balancer. Sizes are the defaults of
 * kpr_consts.h: the addon sets the configured capacities before loading. All
 * maps are pinned by name under <bpf-root>/kpr/maps so that they outlive the
 * agent. */
#ifndef KPR_SOCK_MAPS_H
#define KPR_SOCK_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_counter.h"
#include "kpr_sock_types.h"

/* Frontends (slot 0) and their backend slots (1..count). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sock_svc_key);
	__type(value, struct sock_svc_val);
	__uint(max_entries, KPR_SOCK_LB_MAP_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_services SEC(".maps");

/* Backend id -> address; ids are owned by one frontend each. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct sock_backend);
	__uint(max_entries, KPR_SOCK_LB_MAP_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_backends SEC(".maps");

/* ClientIP session affinity; LRU so that idle clients age out on their own. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sock_affinity_key);
	__type(value, struct sock_affinity_val);
	__uint(max_entries, KPR_SOCK_LB_MAP_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_affinity SEC(".maps");

/* UDP reverse translation for recvmsg() and getpeername(). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct sock_revnat_key);
	__type(value, struct sock_revnat_val);
	__uint(max_entries, KPR_SOCK_REVNAT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_revnat SEC(".maps");

/* Removed UDP backends, filled by the agent just before it runs the socket
 * iterator and emptied right after. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sock_destroy_key);
	__type(value, __u8);
	__uint(max_entries, KPR_SOCK_DESTROY_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_destroy SEC(".maps");

/* Network namespaces (by cookie) whose connections the socket LB leaves
 * alone: pods whose packets must keep the service address (the socket-LB
 * bypass); the per-packet path at their interface balances them
 * (kpr_pod_path.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, __u8);
	__uint(max_entries, KPR_SOCK_BYPASS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_sock_bypass SEC(".maps");

/* --bpf-lb-sock-hostns-only: the cookie of the node's own network
 * namespace, the only one the socket LB translates in; 0: every one. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_sock_hostns SEC(".maps");

/* The cookie of the node's own network namespace, where loopback frontends
 * (localhost NodePorts) are served; in any other, 127.0.0.1 and ::1 are that
 * namespace's own. 0 (unknown): loopback frontends are served nowhere. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_sock_node_netns SEC(".maps");

/* Service CIDRs and every ClusterIP (as /32 or /128): a connection to one
 * of their addresses that no frontend takes is refused at once, as kube-proxy
 * rejects it, instead of leaving the node for an address nothing serves. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct sock_range_key);
	__type(value, __u8);
	__uint(max_entries, KPR_SOCK_RANGES_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_sock_service_ranges SEC(".maps");

/* Translations per service, indexed by svc_id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct sock_svc_stats);
	__uint(max_entries, KPR_SOCK_STATS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_svc_stats SEC(".maps");

/* Rejects and drops per reason (enum kpr_sock_reason). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, KPR_SOCK_REASON_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_drops SEC(".maps");

static __always_inline void count_drop(__u32 reason)
{
	count_one(&kpr_drops, reason);
}

#endif
