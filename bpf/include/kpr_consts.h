/* Numbers the BPF programs and the addon agree on, named once: how maps
 * store address families and protocols, the default capacity of every map
 * (the addon sets the configured ones before loading; the others stay as
 * here), and the limits that size records or bound loops. Plain defines,
 * so that the addon's C++ includes this file as the programs do. */
#ifndef KPR_CONSTS_H
#define KPR_CONSTS_H

/* Address families as stored in maps; equal to the kernel's AF_* values. */
#define KPR_AF_INET  2
#define KPR_AF_INET6 10

/* IP protocol numbers of the frontends we translate. */
#define KPR_PROTO_TCP  6
#define KPR_PROTO_UDP  17
#define KPR_PROTO_SCTP 132

#define KPR_NSEC_PER_SEC 1000000000ULL

/* The hop limit of every packet kpr builds (tunnels, rejects, ICMP errors). */
#define KPR_TTL 64

/* The largest capacity the addon accepts for a configurable map. `kpr run`
 * checks its flags against the same limit first (MAX_MAP_ENTRIES in
 * lib/cli/commands/run.ts), so that the error names the flag. */
#define KPR_MAP_MAX_LIMIT (1u << 24)

/* Socket LB (kpr_sock_maps.h). Frontends and their backend slots share
 * kpr_services; backends and affinity entries are sized alike
 * (--bpf-lb-map-max). Stats are indexed by svc_id, 0 unused. */
#define KPR_SOCK_LB_MAP_MAX  65536
#define KPR_SOCK_STATS_MAX   (KPR_SOCK_LB_MAP_MAX + 1)
#define KPR_SOCK_REVNAT_MAX  131072 /* --bpf-lb-rev-nat-map-max */
#define KPR_SOCK_DESTROY_MAX 4096   /* backends one socket iterator run looks for */
#define KPR_SOCK_BYPASS_MAX  65536  /* network namespaces the socket LB leaves alone */
#define KPR_SOCK_RANGES_MAX  262144 /* service CIDRs and ClusterIPs whose unserved ports are refused */

/* Edge LB (kpr_edge_maps.h). Backends and stats are arrays indexed by id,
 * 0 unused. */
#define KPR_EDGE_FRONTEND_MAX     65536
#define KPR_EDGE_BACKEND_MAX      (65536 + 1)
#define KPR_EDGE_MAGLEV_SIZE      16381 /* M: entries of every service's Maglev table */
#define KPR_EDGE_FLOW_MAX         262144 /* per family; kpr_edge_revnat too */
#define KPR_EDGE_AFFINITY_MAX     65536
#define KPR_EDGE_SOURCE_RANGE_MAX 16384
#define KPR_EDGE_FRAGMENT_MAX     8192   /* --bpf-fragments-map-max */
#define KPR_EDGE_SNAT_MAX         262144 /* kpr_edge_snat and kpr_edge_snat_ports alike */
#define KPR_EDGE_STATS_MAX        (KPR_EDGE_FRONTEND_MAX + 1)
#define KPR_EDGE_TRACE_RING_BYTES (1 << 20)
/* The FIB answers the edge LB keeps for packets towards backends
 * (kpr_next_hop.h): slots per CPU (a power of two), and how long an answer
 * is used before the FIB is asked again. */
#define KPR_EDGE_NEXT_HOP_SLOTS  256
#define KPR_EDGE_NEXT_HOP_TTL_NS (100 * 1000 * 1000ULL)

/* snat source port ranges in the edge config: two, so that the node's own
 * local port range can be left out of the middle of 1024-65535. */
#define KPR_SNAT_RANGES 2
/* How many random ports a new snat flow tries before it is dropped. At 90%
 * of a backend's ports held, 256 tries all fail once in 10^11 new flows (64
 * would once in a thousand); a try costs about 100 ns, and at that
 * occupancy a new flow needs ten on average. */
#define KPR_SNAT_PORT_TRIES 256

#endif
