// SPDX-License-Identifier: GPL-2.0
/* The backend's side of the edge LB, on the node's external devices (tc).
 *
 * Ingress: a DSR tunnel from another node's kpr_xdp_lb (kpr_edge_encap.h), sent
 * to this node's address, loses its outer header here; the inner packet,
 * already addressed to a backend on this node, goes up the stack, and the
 * frontend named in the tunnel is remembered for the replies.
 *
 * Egress: a reply of a backend on this node to a client of the edge LB,
 * whether the client came through a tunnel or straight through this node's
 * kpr_xdp_lb, leaves with the frontend's address and port as its source, so
 * it goes straight to the client, which sees the address it connected to;
 * so does an ICMP error about the client's packet (kpr_edge_icmp_backend.h).
 *
 * On the host side of a pod's interface (kpr_pod_path.h), ingress is
 * kpr_tc_pod_ingress, the per-packet path, and egress the same
 * kpr_tc_dsr_egress: the replies of the backends the path chose.
 *
 * Anything else is left alone. */
#include "vmlinux.h"
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include "kpr_edge_maps.h"
#include "kpr_parse.h"
#include "kpr_edge_encap.h"
#include "kpr_edge_clock.h"
#include "kpr_edge_revnat.h"
#include "kpr_edge_icmp_backend.h"
#include "kpr_edge_frag.h"
#include "kpr_skb_nat.h"
#include "kpr_tc_verdict.h"
#include "kpr_pod_path.h"

char LICENSE[] SEC("license") = "GPL";

/* What parsing reads: Ethernet, IPv6 or the longest IPv4 header, and TCP's
 * fixed part. */
#define HEADERS_MAX (sizeof(struct ethhdr) + 60 + sizeof(struct tcphdr))

/* The frontend named by an IPIP tunnel's option when the outer header is
 * exactly kpr's, addressed to node, and one the stack itself would take: a
 * whole datagram (a fragment's payload is no packet), its length within the
 * frame of frame_len bytes and its checksum right (a corrupted option would
 * name a wrong frontend); 0 when the packet is anything else. */
static __always_inline int tunnel4(void *data, void *data_end, __u32 frame_len, const __u8 *node, __u8 *fe_addr,
				   __u16 *fe_port)
{
	struct ipip_outer *o = data + sizeof(struct ethhdr);
	__u32 node4, tot_len;

	if ((void *)(o + 1) > data_end || o->ip.version != 4 || o->ip.protocol != IPPROTO_IPIP ||
	    o->ip.ihl != sizeof(*o) / 4 || o->opt.type != KPR_DSR_OPT4_TYPE || o->opt.len != sizeof(o->opt))
		return 0;
	tot_len = bpf_ntohs(o->ip.tot_len);
	if ((o->ip.frag_off & bpf_htons(IP_MF | IP_OFFSET)) || tot_len < sizeof(*o) + sizeof(struct iphdr) ||
	    tot_len > frame_len - sizeof(struct ethhdr) || csum_fold(csum_words(o, sizeof(*o))) != 0xffff)
		return 0;
	__builtin_memcpy(&node4, node, 4);
	if (!node4 || o->ip.daddr != node4)
		return 0;
	__builtin_memset(fe_addr, 0, 16);
	__builtin_memcpy(fe_addr, o->opt.addr, 4);
	*fe_port = o->opt.port;
	return sizeof(*o);
}

static __always_inline int tunnel6(void *data, void *data_end, __u32 frame_len, const __u8 *node, __u8 *fe_addr,
				   __u16 *fe_port)
{
	struct ip6ip6_outer *o = data + sizeof(struct ethhdr);
	__u64 want[2], got[2];
	__u32 payload_len;

	if ((void *)(o + 1) > data_end || o->ip6.version != 6 || o->ip6.nexthdr != IPPROTO_DSTOPTS ||
	    o->opt.nexthdr != IPPROTO_IPV6 || o->opt.hdrlen != sizeof(o->opt) / 8 - 1 ||
	    o->opt.type != KPR_DSR_OPT6_TYPE || o->opt.len != sizeof(o->opt.addr) + sizeof(o->opt.port))
		return 0;
	payload_len = bpf_ntohs(o->ip6.payload_len);
	if (payload_len < sizeof(o->opt) + sizeof(struct ipv6hdr) ||
	    payload_len > frame_len - sizeof(struct ethhdr) - sizeof(o->ip6))
		return 0;
	__builtin_memcpy(want, node, 16);
	__builtin_memcpy(got, &o->ip6.daddr, 16);
	if ((want[0] | want[1]) == 0 || want[0] != got[0] || want[1] != got[1])
		return 0;
	__builtin_memcpy(fe_addr, o->opt.addr, 16);
	*fe_port = o->opt.port;
	return sizeof(*o);
}

/* Headers in the linear part first: a payload in pages stays there. */
static __always_inline int parse_skb(struct __sk_buff *skb, struct pkt *p)
{
	bpf_skb_pull_data(skb, skb->len < HEADERS_MAX ? skb->len : HEADERS_MAX);
	return parse_frame((void *)(long)skb->data, (void *)(long)skb->data_end, skb->len, p);
}

SEC("tc")
int kpr_tc_dsr_ingress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	const struct edge_config *cfg;
	struct ethhdr *eth = data;
	__u8 fe_addr[16];
	__u16 fe_port = 0;
	struct icmp_error e;
	struct pkt p;
	int outer_len;

	cfg = edge_config();
	if (!cfg || (void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		outer_len = tunnel4(data, data_end, skb->len, cfg->node_addr4, fe_addr, &fe_port);
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		outer_len = tunnel6(data, data_end, skb->len, cfg->node_addr6, fe_addr, &fe_port);
	else
		return TC_ACT_OK;
	if (!outer_len)
		return TC_ACT_OK;
	/* The inner packet has the outer's family: the Ethernet type stays right. */
	if (bpf_skb_adjust_room(skb, -outer_len, BPF_ADJ_ROOM_MAC, 0))
		return shot(KPR_EDGE_DROP_RESIZE_FAILED);
	/* An ICMP error that XDP sent on to a backend here (kpr_edge_icmp.h)
	 * makes no flow. */
	if (parse_skb(skb, &p) != PARSE_OK)
		return icmp_err_parse_skb(skb, &p, &e) ? shot(KPR_EDGE_DROP_INVALID_PACKET) : TC_ACT_OK;
	/* A later fragment has no ports: its first fragment told the flow. */
	if (p.frag == KPR_FRAG_LATER)
		return TC_ACT_OK;
	if (!p.l4_valid)
		return shot(KPR_EDGE_DROP_INVALID_PACKET);
	revnat_remember_or_refresh(&p, fe_addr, fe_port);
	return TC_ACT_OK;
}

/* A later fragment of a reply: the source its first fragment was given, and
 * nothing at L4, which it does not carry (kpr_edge_frag.h). A later fragment
 * of anything else leaves as it is. */
static __always_inline int reply_fragment(struct __sk_buff *skb, const struct pkt *p)
{
	const struct edge_frag_val *v = frag_lookup(p);
	__s64 diff;

	if (!v || v->action != KPR_FRAG_REPLY)
		return TC_ACT_OK;
	return skb_set_addr(skb, p, NAT_SRC, v->saddr, &diff) ? shot(KPR_EDGE_DROP_REVNAT_FAILED) : TC_ACT_OK;
}

SEC("tc")
int kpr_tc_dsr_egress(struct __sk_buff *skb)
{
	const struct edge_revnat_val *v;
	struct edge_revnat_val fe;
	struct pkt p;
	int err;

	if (parse_skb(skb, &p) != PARSE_OK)
		return icmp_to_client_skb(skb, &p) ? shot(KPR_EDGE_DROP_REVNAT_FAILED) : TC_ACT_OK;
	if (p.frag == KPR_FRAG_LATER)
		return reply_fragment(skb, &p);
	if (!p.l4_valid)
		return TC_ACT_OK;
	v = revnat_lookup(&p);
	if (!v)
		return TC_ACT_OK;
	fe = *v;
	/* The reply leaves with the frontend's address and port as its source. */
	err = skb_nat_rewrite(skb, &p, NAT_SRC, fe.frontend_addr, fe.frontend_port);
	if (err)
		return shot(err == NAT_SCTP_FRAGMENT ? KPR_EDGE_DROP_SCTP_FRAGMENT : KPR_EDGE_DROP_REVNAT_FAILED);
	/* p still holds the addresses the later fragments leave with. */
	if (p.frag == KPR_FRAG_FIRST)
		frag_remember(&p, KPR_FRAG_REPLY, fe.frontend_addr, p.daddr);
	return TC_ACT_OK;
}

SEC("tc")
int kpr_tc_pod_ingress(struct __sk_buff *skb)
{
	struct pkt p;

	return parse_skb(skb, &p) == PARSE_OK ? pod_path(skb, &p) : TC_ACT_OK;
}
