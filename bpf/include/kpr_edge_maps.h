/* Every map of the edge load balancer (xdp_lb.c and tc_dsr.c, which share
 * them through their pins). Sizes are the defaults of kpr_consts.h: the
 * addon sets the configured capacities before loading. Pinned by name next
 * to the socket LB's maps; the kpr_edge_/kpr_xdp_ prefixes keep the two
 * apart (the kpr_xdp_ ones keep the names they were first pinned under). */
#ifndef KPR_EDGE_MAPS_H
#define KPR_EDGE_MAPS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "kpr_counter.h"
#include "kpr_edge_types.h"

/* NodePort / LoadBalancer / ExternalIP frontends reachable from outside. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct edge_fe_key);
	__type(value, struct edge_fe_val);
	__uint(max_entries, KPR_EDGE_FRONTEND_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_edge_frontends SEC(".maps");

/* Backend id -> backend address and the node that hosts it. An array:
 * ids are dense (1..max), and the verifier inlines an array lookup, which
 * costs a fraction of a hash lookup on every packet. A deleted backend is
 * all zero, and svc_id 0 belongs to no frontend. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct edge_backend);
	__uint(max_entries, KPR_EDGE_BACKEND_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_edge_backends SEC(".maps");

/* One Maglev lookup table per service: M backend ids. The agent builds a new
 * inner map and swaps it in with one update of the outer map, so a packet
 * sees either the whole old table or the whole new one, never a mix. */
struct kpr_edge_maglev_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, KPR_EDGE_MAGLEV_SIZE); /* M; set by the addon to the configured table size */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__type(key, __u32); /* svc_id */
	__uint(max_entries, KPR_EDGE_FRONTEND_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__array(values, struct kpr_edge_maglev_inner);
} kpr_edge_maglev SEC(".maps");

/* Established flows keep their backend when the table changes. Entries
 * live as long as their flow (kpr_flow_lifetime.h; the agent deletes
 * expired ones); LRU as well, so that a burst beyond capacity evicts the
 * oldest rather than refusing new flows: a lost entry costs its flow only a
 * fresh Maglev pick, which is the same backend unless the table changed.
 * One table per family. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct edge_flow_key4);
	__type(value, struct edge_flow_val);
	__uint(max_entries, KPR_EDGE_FLOW_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_edge_flows4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct edge_flow_key6);
	__type(value, struct edge_flow_val);
	__uint(max_entries, KPR_EDGE_FLOW_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_edge_flows6 SEC(".maps");

/* ClientIP session affinity: a client address stays on one backend for the
 * service's timeout, whatever its source port. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct edge_affinity_key);
	__type(value, struct edge_stick_val);
	__uint(max_entries, KPR_EDGE_AFFINITY_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_edge_affinity SEC(".maps");

/* loadBalancerSourceRanges: (svc_id, client CIDR) -> allowed. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct edge_src_range_key);
	__type(value, __u8);
	__uint(max_entries, KPR_EDGE_SOURCE_RANGE_MAX);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_edge_source_ranges SEC(".maps");

/* Datagrams in fragments: what the later fragments of each are to get,
 * written when its first fragment (the one with ports) is handled
 * (kpr_edge_frag.h). LRU, sized by --bpf-fragments-map-max: an entry is of
 * use only while its datagram's fragments pass, and the oldest go first. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct edge_frag_key);
	__type(value, struct edge_frag_val);
	__uint(max_entries, KPR_EDGE_FRAGMENT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_edge_fragments SEC(".maps");

/* snat mode: how to turn a backend's reply back into the frontend's, and the
 * flow's state (kpr_edge_snat.h). A plain hash, not an LRU: an entry leaves
 * when its flow is over, never to make room; a full map refuses new flows
 * (drop reason snat_map_full) and keeps the live ones. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct edge_snat_key);
	__type(value, struct edge_snat_val);
	__uint(max_entries, KPR_EDGE_SNAT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_edge_snat SEC(".maps");

/* snat mode: the source port each client flow was given towards its
 * backend (network byte order), the key of its kpr_edge_snat entry. Same
 * size as kpr_edge_snat, and written and deleted with it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct edge_snat_port_key);
	__type(value, __u16);
	__uint(max_entries, KPR_EDGE_SNAT_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_edge_snat_ports SEC(".maps");

/* Room for a snat flow's records while its packet is handled: the verifier
 * gives a program's whole call chain 512 bytes of stack, and these records
 * alone take 136. Not pinned: nothing in it outlives a packet. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct edge_snat_scratch);
	__uint(max_entries, 1);
} kpr_edge_snat_scratch SEC(".maps");

/* The FIB's recent answers for packets towards backends (kpr_next_hop.h),
 * per CPU, in the slot of the question's hash. Not pinned: an answer is
 * good for a moment only. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct edge_next_hop);
	__uint(max_entries, KPR_EDGE_NEXT_HOP_SLOTS);
} kpr_edge_next_hops SEC(".maps");

/* Replies of backends on this node that must leave as the frontend's
 * (edge_revnat_key). Entries live as long as their flow
 * (kpr_flow_lifetime.h; the agent deletes expired ones); LRU as well, as
 * the flow tables are. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct edge_revnat_key);
	__type(value, struct edge_revnat_val);
	__uint(max_entries, KPR_EDGE_FLOW_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_edge_revnat SEC(".maps");

/* Packets and bytes per frontend, index svc_id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct edge_stats);
	__uint(max_entries, KPR_EDGE_STATS_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_edge_stats SEC(".maps");

/* Drops and rejects per reason (enum kpr_edge_reason). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, KPR_EDGE_REASON_MAX);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_xdp_drops SEC(".maps");

/* Not in kpr_edge_verdict.h: tc_dsr.c counts drops too, but ends them with
 * tc's verdicts. */
/* A packet of bytes for service svc_id (kpr_edge_stats), whichever program balanced it. */
static __always_inline void count_service_packet(__u32 svc_id, __u64 bytes)
{
	struct edge_stats *s = bpf_map_lookup_elem(&kpr_edge_stats, &svc_id);

	if (s) {
		s->packets += 1;
		s->bytes += bytes;
	}
}

static __always_inline void count_drop(__u32 reason)
{
	count_one(&kpr_xdp_drops, reason);
}

/* Flow-table misses: packets of a flow this node had no backend for (a new
 * connection, or one whose entry aged out). Hits are not counted here: a
 * per-CPU increment on every packet of an established flow costs ~12 ns,
 * an eighth of the whole path, so the agent derives them from the packet
 * and drop counters instead. One entry, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_edge_flow_misses SEC(".maps");

/* This node's addresses and the Maglev parameters (one entry). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct edge_config);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_xdp_config SEC(".maps");

/* `kpr trace`: what it listens for (one entry), and the decisions it reads. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct edge_trace_ctl);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_xdp_trace_ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, KPR_EDGE_TRACE_RING_BYTES);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_xdp_trace SEC(".maps");

/* The reason of the last drop on this CPU: a packet runs to its end on one
 * CPU, so the trace of a dropped packet finds it here. Written only on drop
 * paths. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} kpr_xdp_last_drop SEC(".maps");

#endif
