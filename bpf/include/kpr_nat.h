/* Address and port rewrites of a parsed TCP/UDP/SCTP packet, with the IPv4
 * header checksum and the L4 checksum updated incrementally: TCP's and UDP's
 * cover the pseudo header, SCTP's CRC32c only the ports of what a rewrite
 * touches (kpr_crc32c.h). The packet must have parsed with l4_valid. */
#ifndef KPR_NAT_H
#define KPR_NAT_H

#include "vmlinux.h"
#include "kpr_crc32c.h"
#include "kpr_csum.h"
#include "kpr_parse.h"

enum nat_side {
	NAT_SRC,
	NAT_DST,
};

/* Why nat_rewrite() refused. */
enum nat_error {
	NAT_NO_HEADER = -1,     /* the headers are out of reach */
	NAT_SCTP_FRAGMENT = -2, /* an SCTP port in a fragment: its CRC covers the whole datagram */
};

/* A zero UDP checksum means "none" over IPv4: it stays zero. A computed zero
 * is sent as all ones (RFC 768). */
static __always_inline void l4_csum_update(void *data, void *data_end, const struct pkt *p, __u64 delta)
{
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = data + l4_offset(p);

		if ((void *)(th + 1) <= data_end)
			th->check = csum_apply(th->check, delta);
	} else {
		struct udphdr *uh = data + l4_offset(p);

		if ((void *)(uh + 1) > data_end || (p->family == KPR_AF_INET && uh->check == 0))
			return;
		uh->check = csum_apply(uh->check, delta);
		if (uh->check == 0)
			uh->check = 0xffff;
	}
}

/* Rewrites one side's address to addr, with the IPv4 header checksum, and
 * keeps *p in step; *pseudo gets what the change adds to the pseudo
 * header's sum, for the L4 checksum. Returns 0, or -1 when the header is out
 * of reach. Alone, it is the whole rewrite of a later fragment, which has no
 * L4 header. */
static __always_inline int addr_rewrite(struct xdp_md *ctx, struct pkt *p, enum nat_side side, const __u8 *addr,
					__u64 *pseudo)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u8 *old_addr = side == NAT_DST ? p->daddr : p->saddr;

	addr = __builtin_assume_aligned(addr, 4); /* see csum_delta_addr() */
	if (p->family == KPR_AF_INET) {
		struct iphdr *iph = data + L3_OFF;

		if ((void *)(iph + 1) > data_end)
			return -1;
		*pseudo = csum_delta_addr(old_addr, addr, 4);
		iph->check = csum_apply(iph->check, *pseudo);
		__builtin_memcpy(side == NAT_DST ? (void *)&iph->daddr : (void *)&iph->saddr, addr, 4);
		__builtin_memcpy(old_addr, addr, 4);
	} else {
		struct ipv6hdr *ip6 = data + L3_OFF;

		if ((void *)(ip6 + 1) > data_end)
			return -1;
		*pseudo = csum_delta_addr(old_addr, addr, 16);
		__builtin_memcpy(side == NAT_DST ? (void *)&ip6->daddr : (void *)&ip6->saddr, addr, 16);
		__builtin_memcpy(old_addr, addr, 16);
	}
	return 0;
}

/* A first fragment does not tell the length an SCTP checksum covers, so its
 * port cannot change: whether p would need that of a rewrite to port. */
static __always_inline int sctp_port_unfixable(const struct pkt *p, __u16 old_port, __u16 port)
{
	return p->proto == IPPROTO_SCTP && p->frag && port != old_port;
}

/* The SCTP checksum of p once the port of one side in its ports word (as
 * the packet holds it) becomes port: the CRC covers the whole packet,
 * l4_len() bytes, and not the addresses. */
static __always_inline __u32 sctp_check_for_port(const struct pkt *p, __u32 check, __u32 ports, enum nat_side side,
						 __u16 port)
{
	__u32 new_ports = ports;

	__builtin_memcpy((__u8 *)&new_ports + (side == NAT_DST ? 2 : 0), &port, 2);
	return crc32c_ports_update(check, ports, new_ports, l4_len(p));
}

static __always_inline void sctp_csum_update(void *data, void *data_end, const struct pkt *p, enum nat_side side,
					     __u16 port)
{
	__u8 *hdr = data + l4_offset(p);
	__u32 ports, check;

	if ((void *)hdr + SCTP_COMMON_LEN > data_end)
		return;
	__builtin_memcpy(&ports, hdr, 4);
	__builtin_memcpy(&check, hdr + SCTP_CSUM_OFF, 4);
	check = sctp_check_for_port(p, check, ports, side, port);
	__builtin_memcpy(hdr + SCTP_CSUM_OFF, &check, 4);
}

/* Rewrites one side's address and port to addr/port (network order) and
 * keeps *p in step. Returns 0 or an enum nat_error, before anything changed.
 * Inline: on CPUs whose returns go through a mitigation thunk (SRSO, retbleed)
 * a call and its return cost as much as the rewrite. */
static __always_inline int nat_rewrite(struct xdp_md *ctx, struct pkt *p, enum nat_side side, const __u8 *addr,
				       __u16 port)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u16 *ports = data + l4_offset(p);
	__u16 *old_port = side == NAT_DST ? &p->dport : &p->sport;
	__u64 delta;

	if ((void *)(ports + 2) > data_end)
		return NAT_NO_HEADER;
	if (sctp_port_unfixable(p, *old_port, port))
		return NAT_SCTP_FRAGMENT;
	if (addr_rewrite(ctx, p, side, addr, &delta))
		return NAT_NO_HEADER;
	if (p->proto == IPPROTO_SCTP) {
		if (port != *old_port)
			sctp_csum_update(data, data_end, p, side, port);
	} else {
		delta += csum_delta(old_port, &port, 2);
		l4_csum_update(data, data_end, p, delta);
	}
	ports[side == NAT_DST ? 1 : 0] = port;
	*old_port = port;
	return 0;
}

#endif
