/* How long the edge LB's per-flow state lives: flow, snat and reverse-NAT
 * entries carry the time of their flow's last packet and what the packets
 * showed (a TCP handshake past its SYN, FINs, a RST, a UDP reply). An entry
 * idle for longer than its state's timeout is gone, as a conntrack entry is:
 * the agent's garbage collector deletes it (native/src/flow_gc.cc), and a new
 * snat flow may take its port at once (kpr_edge_snat.h). A TCP flow closed
 * both ways, or reset, gives its snat port up a second or two after its last
 * packet already: the port space of one backend would otherwise bound the
 * rate of new flows to it by the number of ports over the FIN timeout.
 *
 * Time is the datapath clock, edge_config.clock_s: whole seconds of
 * CLOCK_MONOTONIC_COARSE, which every packet reads with one load of the
 * config. Reading the clock itself costs a packet 15 ns, more than a tenth
 * of its whole path, so only new flows do (and advance clock_s when a second
 * has passed), and the agent's collector, every second. An entry's time may
 * so lag its last packet by a second, and is floored to one: timeouts hold
 * to within KPR_CT_SLACK_S.
 *
 * Shared by the BPF programs and the addon's collector, so that both judge an
 * entry alike: plain C over the entry's fields, no helpers. */
#ifndef KPR_FLOW_LIFETIME_H
#define KPR_FLOW_LIFETIME_H

#include "kpr_edge_types.h"

#ifdef __bpf__
#define KPR_LIFETIME_FN static __always_inline
#else
#define KPR_LIFETIME_FN static inline
#endif

/* KPR_CT_*: the `state` of flow, snat and reverse-NAT entries. */
#define KPR_CT_ESTABLISHED 0x01 /* TCP: a client packet without SYN (the handshake's last ACK, or later) */
#define KPR_CT_FIN_CLIENT  0x02 /* TCP: the client sent a FIN */
#define KPR_CT_FIN_BACKEND 0x04 /* TCP: the backend sent a FIN */
#define KPR_CT_RST         0x08 /* TCP: a RST, either way */
#define KPR_CT_REPLIED     0x10 /* a packet from the backend */
#define KPR_CT_STREAM      0x20 /* UDP: a packet after a reply (conntrack's "stream") */

/* Which side a packet comes from. */
#define KPR_CT_FROM_CLIENT  0
#define KPR_CT_FROM_BACKEND 1

/* TCP header flags (RFC 9293), as struct pkt's tcp_flags holds them. */
#define KPR_TCP_FIN 0x01
#define KPR_TCP_SYN 0x02
#define KPR_TCP_RST 0x04
#define KPR_TCP_ACK 0x10

/* How much longer than its timeout an entry may live: its time may lag its
 * last packet by a second (the clock), and is floored to a second. It never
 * lives shorter. */
#define KPR_CT_SLACK_S 2
/* A closed TCP flow keeps its snat port for its own late packets (the last
 * ACK, a retransmitted FIN) until this many clock seconds have passed
 * without one: one to two seconds. It bounds the new flows a backend takes
 * a second: its snat ports over this, 18000 with the default ports. */
#define KPR_CT_REUSE_S 2

/* The datapath clock's value for a CLOCK_MONOTONIC_COARSE reading. */
KPR_LIFETIME_FN __u32 ct_clock_of(__u64 ns)
{
	return (__u32)(ns / KPR_NSEC_PER_SEC);
}

/* A SYN without ACK: the client opens a connection. */
KPR_LIFETIME_FN int ct_opening(__u8 tcp_flags)
{
	return (tcp_flags & (KPR_TCP_SYN | KPR_TCP_ACK | KPR_TCP_RST)) == KPR_TCP_SYN;
}

/* A SYN with ACK: the server accepts a connection being opened. */
KPR_LIFETIME_FN int ct_accepting(__u8 tcp_flags)
{
	return (tcp_flags & (KPR_TCP_SYN | KPR_TCP_ACK | KPR_TCP_RST)) == (KPR_TCP_SYN | KPR_TCP_ACK);
}

/* Closed both ways, or reset: nothing more is owed to the flow. */
KPR_LIFETIME_FN int ct_closed(__u8 proto, __u8 state)
{
	return proto == KPR_PROTO_TCP &&
	       ((state & KPR_CT_RST) || (state & (KPR_CT_FIN_CLIENT | KPR_CT_FIN_BACKEND)) == (KPR_CT_FIN_CLIENT | KPR_CT_FIN_BACKEND));
}

/* The state once a packet with tcp_flags went by from one side. A SYN on a
 * closed TCP flow is a new connection on the same ports, which starts over
 * (conntrack reopens a TIME_WAIT entry the same way). */
KPR_LIFETIME_FN __u8 ct_next_state(__u8 state, __u8 proto, __u8 tcp_flags, int from)
{
	if (proto == KPR_PROTO_TCP) {
		if (from == KPR_CT_FROM_CLIENT && ct_opening(tcp_flags) && (ct_closed(proto, state) || (state & KPR_CT_FIN_CLIENT)))
			state = 0;
		if (tcp_flags & KPR_TCP_RST)
			state |= KPR_CT_RST;
		if (tcp_flags & KPR_TCP_FIN)
			state |= from == KPR_CT_FROM_CLIENT ? KPR_CT_FIN_CLIENT : KPR_CT_FIN_BACKEND;
		if (from == KPR_CT_FROM_CLIENT && !(tcp_flags & KPR_TCP_SYN))
			state |= KPR_CT_ESTABLISHED;
	} else if (state & KPR_CT_REPLIED) {
		state |= KPR_CT_STREAM;
	}
	if (from == KPR_CT_FROM_BACKEND)
		state |= KPR_CT_REPLIED;
	return state;
}

/* An entry's time and state for a packet with tcp_flags from one side, at
 * clock_s: each field written only when it changes, so that a flow's
 * packets within a second write nothing. */
KPR_LIFETIME_FN void ct_touch(__u32 *seen_s, __u8 *state, __u32 clock_s, __u8 proto, __u8 tcp_flags, int from)
{
	__u8 next = ct_next_state(*state, proto, tcp_flags, from);

	if (next != *state)
		*state = next;
	if (*seen_s != clock_s)
		*seen_s = clock_s;
}

/* Seconds an entry in this state lives without a packet. */
KPR_LIFETIME_FN __u32 ct_timeout_s(const struct edge_timeouts *t, __u8 proto, __u8 state)
{
	if (proto == KPR_PROTO_TCP) {
		if (state & KPR_CT_RST)
			return t->tcp_close;
		if (state & (KPR_CT_FIN_CLIENT | KPR_CT_FIN_BACKEND))
			return t->tcp_fin;
		return state & (KPR_CT_ESTABLISHED | KPR_CT_REPLIED) ? t->tcp_established : t->tcp_syn;
	}
	return state & KPR_CT_STREAM ? t->udp_stream : t->udp;
}

/* Clock seconds since an entry's last packet. Signed: a packet on another
 * CPU may have written a later second than the reader's clock shows. */
KPR_LIFETIME_FN __s64 ct_idle_s(__u32 seen_s, __u32 clock_s)
{
	return (__s32)(clock_s - seen_s);
}

KPR_LIFETIME_FN int ct_expired(const struct edge_timeouts *t, __u8 proto, __u8 state, __u32 seen_s, __u32 clock_s)
{
	return ct_idle_s(seen_s, clock_s) > (__s64)ct_timeout_s(t, proto, state) + KPR_CT_SLACK_S;
}

/* Whether a new flow may take the entry's place (its snat port): without
 * the slack (the port of a flow idle for its timeout is of no more use to
 * it, and a second more would cost a busy backend that many ports), or
 * once the TCP flow has closed. */
KPR_LIFETIME_FN int ct_reusable(const struct edge_timeouts *t, __u8 proto, __u8 state, __u32 seen_s, __u32 clock_s)
{
	__s64 idle = ct_idle_s(seen_s, clock_s);

	return idle > (__s64)ct_timeout_s(t, proto, state) || (ct_closed(proto, state) && idle >= KPR_CT_REUSE_S);
}

#endif
