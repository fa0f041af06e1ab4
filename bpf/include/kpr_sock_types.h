/* Map keys and values of the socket load balancer, shared by sock_lb.c and
 * the native addon. This header is the single definition of these layouts:
 * the addon packs exactly these structs, TypeScript never builds raw map
 * bytes. The edge LB's are in kpr_edge_types.h. */
#ifndef KPR_SOCK_TYPES_H
#define KPR_SOCK_TYPES_H

#ifndef __bpf__
#include <linux/types.h>
#endif
#include "kpr_consts.h"

/* Service flags (sock_svc_val.flags, master slot only). */
#define KPR_SOCK_F_AFFINITY 0x1

enum sock_verdict {
	SOCK_PASS,       /* not a service: leave the address alone */
	SOCK_TRANSLATED, /* address now names a backend */
	SOCK_REJECT,     /* refused: no usable backend, or a service address not served */
};

/* Drop / reject reasons, indexes into kpr_drops. Named after Cilium's
 * taxonomy where one fits. Keep in sync with lib/datapath/reasons.ts. */
enum kpr_sock_reason {
	KPR_SOCK_DROP_NO_BACKEND = 0,      /* service has no active backend */
	KPR_SOCK_DROP_BACKEND_MISSING = 1, /* slot points at a deleted backend (transient) */
	KPR_SOCK_DROP_REVNAT_FULL = 2,     /* reverse-NAT entry could not be stored */
	KPR_SOCK_DROP_NO_SERVICE = 3,      /* a service address (range) no frontend serves on that port */
	KPR_SOCK_REASON_MAX = 8,
};

/* kpr_sock_service_ranges LPM key: prefixlen counts family and pad (32 bits,
 * always matched in full) plus the CIDR's own prefix length. */
struct sock_range_key {
	__u32 prefixlen;
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};
#define KPR_SOCK_RANGE_FIXED_BITS 32

/* kpr_services: one master entry (slot 0) per frontend, holding the backend
 * count, plus one entry per backend slot 1..count. Readers look up the master
 * first, so writers publish slots before the master that counts them. */
struct sock_svc_key {
	__u8 addr[16];  /* IPv4 in the first 4 bytes, rest zero */
	__u16 port;     /* network byte order */
	__u8 proto;     /* KPR_PROTO_* */
	__u8 family;    /* KPR_AF_* */
	__u16 slot;     /* 0 = master */
	__u16 pad;
};

struct sock_svc_val {
	__u32 backend_id;       /* slot > 0: the backend in this slot */
	__u32 svc_id;           /* stable id: counters, affinity */
	__u16 count;            /* master: number of active backends */
	__u16 flags;            /* master: KPR_SOCK_F_* */
	__u32 affinity_timeout; /* master: seconds, when KPR_SOCK_F_AFFINITY */
};

/* kpr_backends: backend id -> address. Ids are per service and frontend, so
 * deleting a backend from one service never affects another. */
struct sock_backend {
	__u8 addr[16];
	__u16 port;   /* network byte order */
	__u8 family;
	__u8 flags;
	__u32 svc_id; /* owner: an affinity entry is honoured only for its own service */
};

/* kpr_affinity: (client netns, service) -> backend, for ClientIP affinity.
 * A pod is one network namespace with one address, so the netns cookie is
 * the client identity that a socket hook can always see. */
struct sock_affinity_key {
	__u64 netns_cookie;
	__u32 svc_id;
	__u32 pad;
};

struct sock_affinity_val {
	__u64 last_used_ns;
	__u32 backend_id;
	__u32 pad;
};

/* kpr_revnat: (socket, backend address) -> service address, so UDP replies
 * and getpeername() show the service the application asked for. */
struct sock_revnat_key {
	__u64 cookie;
	__u8 addr[16];
	__u16 port;
	__u8 family;
	__u8 pad[5];
};

struct sock_revnat_val {
	__u8 addr[16];
	__u16 port;
	__u8 family;
	__u8 proto;
	__u32 svc_id;
};

/* kpr_destroy: backends whose connected UDP sockets the iterator destroys. */
struct sock_destroy_key {
	__u8 addr[16];
	__u16 port;
	__u8 family;
	__u8 pad;
};

/* kpr_svc_stats (per-CPU array, index svc_id). */
struct sock_svc_stats {
	__u64 translations;
};

#endif
