/* Map keys and values of the edge load balancer, shared by xdp_lb.c, tc_dsr.c
 * and the native addon (which alone packs them). Separate from
 * kpr_sock_types.h: the edge LB sees packets from outside the node, so its
 * records carry what the socket LB never needs (node addresses, flows,
 * client addresses). */
#ifndef KPR_EDGE_TYPES_H
#define KPR_EDGE_TYPES_H

#ifndef __bpf__
#include <linux/types.h>
#endif
#include "kpr_consts.h"

/* kpr_edge_frontends flags. */
#define KPR_EDGE_F_AFFINITY       0x01 /* ClientIP session affinity */
#define KPR_EDGE_F_SOURCE_RANGES  0x02 /* only clients in kpr_edge_source_ranges */
#define KPR_EDGE_F_SNAT           0x04 /* lb mode snat; clear = dsr */
#define KPR_EDGE_F_RANDOM         0x08 /* random slot; clear = Maglev hash */
#define KPR_EDGE_F_DROP_NO_BACKEND 0x10 /* no backend: drop; clear = reject */

/* Why the edge LB dropped (or, with no backend, rejected) a packet: indexes
 * into kpr_xdp_drops, like the socket LB's kpr_drops. Named after
 * Cilium's drop reasons where one fits. Keep in sync with lib/datapath/reasons.ts. */
enum kpr_edge_reason {
	KPR_EDGE_DROP_NO_SERVICE_BACKEND = 0, /* frontend without backends (dropped or rejected) */
	KPR_EDGE_DROP_SOURCE_RANGE_DENIED = 1, /* client outside loadBalancerSourceRanges */
	KPR_EDGE_DROP_UNSUPPORTED_L3 = 2,     /* backend of another family than the frontend */
	KPR_EDGE_DROP_INVALID_PACKET = 3,     /* frontend packet with a truncated or bad L4 header */
	KPR_EDGE_DROP_FIB_LOOKUP_FAILED = 4,  /* no route or no neighbour towards the backend node */
	KPR_EDGE_DROP_BACKEND_MISSING = 5,    /* table slot names a deleted backend (transient) */
	KPR_EDGE_DROP_NO_NODE_ADDRESS = 6,    /* remote backend, but this node has no address of that family */
	KPR_EDGE_DROP_RESIZE_FAILED = 7,      /* bpf_xdp_adjust_head/tail refused */
	KPR_EDGE_DROP_REVNAT_FAILED = 8,      /* tc: a reply to rewrite whose headers could not be written */
	KPR_EDGE_DROP_SNAT_NO_PORT = 9,       /* snat: no free source port towards that backend */
	KPR_EDGE_DROP_FRAG_NOT_FOUND = 10,    /* a later fragment whose first fragment was not seen (or not forwarded) */
	KPR_EDGE_DROP_FRAG_NEEDED = 11,       /* too big for the DSR tunnel: the client got an ICMP error */
	KPR_EDGE_DROP_SNAT_MAP_FULL = 12,     /* snat: kpr_edge_snat has no room for a new flow */
	KPR_EDGE_DROP_SCTP_FRAGMENT = 13,     /* an SCTP fragment whose port would change (kpr_nat.h) */
	KPR_EDGE_REASON_MAX = 16,
};

/* edge_fe_key.family bit of the frontends the per-packet path serves to the
 * node's own pods (kpr_pod_path.h): every frontend as traffic from this node
 * reaches it, in services of their own, beside the same address and port as
 * clients outside reach it. One map, so that both views share one service
 * id space (Maglev tables, affinity, stats) and one capacity. */
#define KPR_EDGE_FE_POD 0x80

/* kpr_edge_frontends key: one NodePort / LoadBalancer IP / ExternalIP (and
 * routed ClusterIP), or, with KPR_EDGE_FE_POD, any frontend as pods reach it. */
struct edge_fe_key {
	__u8 addr[16]; /* IPv4 in the first 4 bytes, rest zero */
	__u16 port;    /* network byte order */
	__u8 proto;    /* IPPROTO_TCP / IPPROTO_UDP / IPPROTO_SCTP */
	__u8 family;   /* KPR_AF_*, | KPR_EDGE_FE_POD */
};

struct edge_fe_val {
	__u32 svc_id;           /* stable id: Maglev table, stats, affinity, source ranges */
	__u16 count;            /* backends in the Maglev table; 0 = none */
	__u16 flags;            /* KPR_EDGE_F_* */
	__u32 affinity_timeout; /* seconds, with KPR_EDGE_F_AFFINITY */
};

/* kpr_edge_backends value. DSR tunnels to node_addr, the node that hosts the
 * backend; all zero means the backend is on this node. */
struct edge_backend {
	__u8 addr[16];
	__u8 node_addr[16]; /* same family as addr */
	__u16 port;         /* network byte order */
	__u8 family;
	__u8 pad;
	__u32 svc_id;       /* owner: a flow or affinity entry is honoured only for it */
};

/* kpr_edge_flows4/6: a connection as the client sent it, told apart by the
 * client's address and port, the protocol and the service it reached. The
 * service stands for the frontend's address and port: a client port used
 * for two frontends of one service may share one pick, which is harmless,
 * as they share the backends. Every packet hashes this key, so it is kept
 * small, and IPv4 has its own: 12 bytes hash in one round of jhash. */
struct edge_flow_key4 {
	__u8 saddr[4];
	__u32 svc_id;
	__u16 sport;
	__u8 proto;
	__u8 pad;
};

struct edge_flow_key6 {
	__u8 saddr[16];
	__u32 svc_id;
	__u16 sport;
	__u8 proto;
	__u8 pad;
};

/* Value of kpr_edge_affinity. */
struct edge_stick_val {
	__u64 last_seen_ns; /* the client's last new connection */
	__u32 backend_id;
	__u32 pad;
};

/* Value of the flow tables. */
struct edge_flow_val {
	__u32 backend_id;
	__u32 seen_s; /* the datapath clock at the flow's last packet (kpr_flow_lifetime.h) */
	__u8 state;   /* KPR_CT_*, as the client's packets show it */
	__u8 pad;
	/* snat mode: the port (network order) the flow's packets last left
	 * with, so that they need not ask kpr_edge_snat_ports for it; 0 when not
	 * known (and in entries of builds before it, which had padding here). */
	__u16 snat_port;
	/* snat mode: the clock second in which a packet last found snat_port's
	 * entry in kpr_edge_snat to be this flow's, for the frontend below (0:
	 * never). The flow's other packets of that second to that frontend take
	 * the port without looking (kpr_edge_snat.h). The frontend is kept in
	 * full: two frontends of one service share the flow's entry. */
	__u32 snat_checked_s;
	__u8 snat_frontend_addr[16];
	__u16 snat_frontend_port;
	__u16 pad2;
};

/* kpr_edge_affinity: (client address, service) for ClientIP affinity. */
struct edge_affinity_key {
	__u8 addr[16];
	__u32 svc_id;
	__u8 family;
	__u8 pad[3];
};

/* kpr_edge_source_ranges LPM key: prefixlen counts svc_id, family and pad
 * (64 bits, always matched in full) plus the CIDR's own prefix length. */
struct edge_src_range_key {
	__u32 prefixlen;
	__u32 svc_id;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};
#define KPR_EDGE_SRC_RANGE_FIXED_BITS 64

/* How long a flow's state lives once idle, in seconds, by what its packets
 * showed (kpr_flow_lifetime.h). Defaults are the kernel's conntrack
 * timeouts of the same names (nf_conntrack_tcp_timeout_*, _udp_timeout*). */
struct edge_timeouts {
	__u32 tcp_established; /* past the handshake */
	__u32 tcp_syn;         /* only the client's SYN seen */
	__u32 tcp_fin;         /* a FIN seen: fin_wait, close_wait, time_wait */
	__u32 tcp_close;       /* a RST seen */
	__u32 udp;             /* unreplied, or one exchange */
	__u32 udp_stream;      /* packets after a reply */
};

/* A range of snat source ports (KPR_SNAT_RANGES of them); count 0: no such
 * range. */
struct edge_port_range {
	__u16 min;
	__u16 count;
};

/* kpr_xdp_config[0]: this node, as the edge LB needs to know it. */
struct edge_config {
	__u8 node_addr4[4];  /* outer source of IPIP; 0 = no IPv4 DSR */
	__u8 node_addr6[16]; /* outer source of IP6IP6; 0 = no IPv6 DSR */
	__u32 maglev_size;   /* M: entries of every inner Maglev table */
	__u32 hash_seed;     /* Maglev flow hash seed (Cilium: --bpf-lb-maglev-hash-seed) */
	struct edge_timeouts timeouts;
	struct edge_port_range snat_ports[KPR_SNAT_RANGES];
	/* The datapath clock (kpr_flow_lifetime.h): seconds of
	 * CLOCK_MONOTONIC_COARSE, advanced by whoever reads that clock. */
	__u32 clock_s;
	/* The clock at the agent's last tick: after an agent's restart, a flow
	 * seen since then counts as seen at the restart. */
	__u32 agent_clock_s;
};

/* kpr_edge_stats value, per CPU, index svc_id. */
struct edge_stats {
	__u64 packets;
	__u64 bytes;
};

/* kpr_edge_fragments: a datagram in fragments, keyed as Cilium keys its
 * fragment map (source, destination, protocol, IP identification), as its
 * fragments arrive at XDP or leave through tc egress. */
struct edge_frag_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__u32 id;    /* as on the wire; IPv4's 16 bits zero-extended */
	__u8 proto;
	__u8 family;
	__u16 pad;
};

/* What the later fragments of a datagram get: the L3 treatment of its first. */
enum kpr_frag_action {
	KPR_FRAG_DROP = 0,  /* XDP: the first was dropped or answered: dropped too (frag_not_found) */
	KPR_FRAG_PASS = 1,  /* XDP: not kpr's, passed untouched */
	KPR_FRAG_LOCAL = 2, /* XDP: addresses set, up the stack to a backend on this node; tc (a pod's): destination set */
	KPR_FRAG_DSR = 3,   /* XDP: addresses set, tunnelled to tunnel_dst */
	KPR_FRAG_ROUTE = 4, /* XDP: addresses set, sent on by the FIB (snat, both ways) */
	KPR_FRAG_REPLY = 5, /* tc egress: a backend's reply, source set */
};

struct edge_frag_val {
	__u8 saddr[16];      /* the addresses the first fragment left with */
	__u8 daddr[16];
	__u8 tunnel_dst[16]; /* KPR_FRAG_DSR: the backend's node */
	__u16 frontend_port; /* KPR_FRAG_DSR: named in the tunnel beside the fragment's own destination */
	__u8 action;         /* enum kpr_frag_action */
	__u8 pad;
};

/* kpr_edge_snat: the reverse mapping a backend's reply needs in snat mode,
 * and the one record of the flow's state: the client's packets find it
 * through kpr_edge_snat_ports and refresh it too.
 * Key = the reply as it arrives from the backend (backend -> node address,
 * on the snat port); value = the client and frontend to restore. */
struct edge_snat_key {
	__u8 backend_addr[16];
	__u8 node_addr[16];
	__u16 backend_port;
	__u16 snat_port;
	__u8 proto;
	__u8 family;
	__u16 pad;
};

struct edge_snat_val {
	__u8 client_addr[16];
	__u8 frontend_addr[16];
	__u16 frontend_port;
	__u16 client_port; /* 0 in entries of builds that kept the client's port as the snat port */
	__u32 svc_id;
	__u32 seen_s; /* the datapath clock at the flow's last packet, either way (kpr_flow_lifetime.h) */
	__u8 state;   /* KPR_CT_*, both ways */
	__u8 pad[3];
};

/* kpr_edge_snat_ports: the snat port of a client's flow to a backend. */
struct edge_snat_port_key {
	__u8 client_addr[16];
	__u8 backend_addr[16];
	__u16 client_port;
	__u16 backend_port;
	__u8 proto;
	__u8 family;
	__u16 pad;
};

/* kpr_edge_snat_scratch: a snat flow's records while its packet is
 * handled, per CPU, off the stack (kpr_edge_snat.h). Aligned, so that
 * addresses are copied in words, not byte by byte. */
struct edge_snat_scratch {
	struct edge_snat_key k __attribute__((aligned(8)));
	struct edge_snat_port_key ck __attribute__((aligned(8)));
	struct edge_snat_val v __attribute__((aligned(8)));
};

/* kpr_edge_next_hops: the FIB's answer to a question (kpr_next_hop.h), per
 * CPU, kept until until_ns. The question is what the answer may differ by
 * between packets at the same time; the source, this node's own address
 * for every packet that asks, is left out, and the packet's length is
 * checked against mtu each time. */
struct edge_next_hop_question {
	__u8 dst[16]; /* IPv4 in the first 4 bytes, rest zero */
	__u32 ingress_ifindex;
	__be32 flowinfo; /* IPv4: the TOS; IPv6: traffic class and flow label (ECMP hashes it) */
	__u8 family;
	__u8 proto;
	__u8 pad[6];
};

struct edge_next_hop {
	struct edge_next_hop_question q __attribute__((aligned(8)));
	__u64 until_ns; /* bpf_ktime_get_coarse_ns() past which the FIB is asked again */
	__u32 ifindex;  /* the device towards the next hop */
	__u16 mtu;      /* towards the next hop */
	__u8 dmac[6];
	__u8 smac[6];
};

/* kpr_edge_revnat: a backend's reply that must leave as the frontend's.
 * Written where a client's packet is handed to a backend on this node (XDP
 * for a local backend, tc_dsr.c at the end of a DSR tunnel); read by
 * tc_dsr.c on egress. Key = the reply as the backend sends it. */
struct edge_revnat_key {
	__u8 backend_addr[16];
	__u8 client_addr[16];
	__u16 backend_port;
	__u16 client_port;
	__u8 proto;
	__u8 family;
	__u16 pad;
};

struct edge_revnat_val {
	__u8 frontend_addr[16];
	__u16 frontend_port;
	__u8 state;   /* KPR_CT_*, both ways */
	__u8 pad;
	__u32 seen_s; /* the datapath clock at the flow's last packet, either way (kpr_flow_lifetime.h) */
};

/* How the edge LB chose a backend, for `kpr trace`. */
enum kpr_pick {
	KPR_PICK_NONE = 0,     /* no backend: dropped or rejected before a choice */
	KPR_PICK_FLOW = 1,     /* the flow's own backend (flow table hit) */
	KPR_PICK_AFFINITY = 2, /* the client's ClientIP affinity backend */
	KPR_PICK_MAGLEV = 3,   /* the Maglev table slot of the client's hash */
	KPR_PICK_RANDOM = 4,   /* a random slot of the table */
	KPR_PICK_NODE_CONNTRACK = 5, /* none: a flow the node's conntrack translated, left to it (kpr_node_conntrack.h) */
};

/* Where the packet went once a backend was chosen. */
enum kpr_path {
	KPR_PATH_NONE = 0,
	KPR_PATH_LOCAL = 1, /* destination rewritten, up the stack */
	KPR_PATH_DSR = 2,   /* tunnelled to the backend's node */
	KPR_PATH_SNAT = 3,  /* both ends rewritten, sent on */
};

/* kpr_xdp_trace_ctl[0]: what `kpr trace` listens for. It sets a lease and
 * renews it, so that a trace whose reader died ends by itself; while
 * until_ns is 0 a packet pays one load for tracing. */
struct edge_trace_ctl {
	__u64 until_ns;        /* bpf_ktime_get_coarse_ns() deadline; 0 = off */
	__u64 lost;            /* events the ring buffer had no room for */
	__u8 frontend_addr[16];
	__u16 frontend_port;   /* network order; 0 = any port */
	__u8 frontend_proto;   /* 0 = any protocol */
	__u8 frontend_family;  /* 0 = any frontend */
	__u8 client_addr[16];
	__u8 client_family;    /* 0 = any client */
	__u8 pad[7];
};

/* One forwarding decision, as kpr_xdp_trace carries it to `kpr trace`. */
struct edge_trace_event {
	__u64 ts_ns;
	__u8 client_addr[16];
	__u8 frontend_addr[16];
	__u8 backend_addr[16]; /* zero when there is none */
	__u16 client_port;     /* network order, as are the other ports */
	__u16 frontend_port;
	__u16 backend_port;
	__u8 proto;
	__u8 family;
	__u32 svc_id;
	__u32 backend_id;
	__u32 action;          /* XDP action */
	__u8 pick;             /* enum kpr_pick */
	__u8 path;             /* enum kpr_path */
	__u8 drop_reason;      /* enum kpr_edge_reason, with XDP_DROP (or a reject) */
	__u8 pad;
};

#endif
