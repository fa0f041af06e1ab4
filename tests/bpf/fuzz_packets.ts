// Fuzzed frames for BPF_PROG_TEST_RUN: traffic a node running kpr sees
// (clients to frontends and elsewhere, backends' replies, DSR tunnels, ICMP
// errors about any of these, their quotes bent and cut short), then
// bent the ways a hostile or broken sender bends it: IPv4 options, IPv6
// extension header chains, fragments, bogus lengths, tunnels in tunnels,
// VLAN tags, truncation at every header boundary, flipped bytes. Now and
// then a whole datagram is cut into fragments sent in a row (in order or
// not), bare or each in kpr's tunnel, so that later fragments meet the
// state their first left. Everything is drawn from a seeded generator, so a
// seed names a run exactly.
import {
  ETH_HLEN, ETH_P_IP, ETH_P_IPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, NODE_MAC, CLIENT_MAC, addrBytes, dsrTunnel, ethernet,
  formatAddr, fragmentFrame, icmpError, internetChecksum, ipv4, ipv6, sctp, tcp, udp,
} from './packets';
import {
  ETH_P_8021AD, ETH_P_8021Q, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_IPIP,
  IPPROTO_IPV6, IPPROTO_ROUTING, sealChecksums, walkFrame,
} from './checksums';

/** mulberry32: small, fast, and the same sequence on every platform. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x100000000;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i += 4) {
      const word = this.int(0x100000000);
      for (let k = 0; k < 4 && i + k < n; k++) b[i + k] = (word >>> (8 * k)) & 0xff;
    }
    return b;
  }
}

export type L4 = 'TCP' | 'UDP' | 'SCTP';

export interface Endpoint {
  addr: string;
  port: number;
  proto: L4;
}

/** What the fuzzed traffic is about: the program's view of the node. */
export interface FuzzTargets {
  /** Service frontends (NodePort, LoadBalancer IP, ExternalIP). */
  frontends: Endpoint[];
  /** Addresses that are nobody's frontend. */
  others: string[];
  clients: string[];
  /** Few client ports, so that flows recur and replies find their state. */
  clientPorts: number[];
  /** Where backends' replies go besides the clients' ports: the snat ports
   *  kpr gave the clients' flows (filled once the flows are primed). */
  snatPorts: number[];
  /** Backends whose replies kpr may rewrite, and where those replies go
   *  (undefined: to a client). */
  repliers: (Endpoint & { to?: string })[];
  /** Tunnel endpoints: the source nodes and the destinations (this node among them). */
  tunnelSources: string[];
  tunnelDestinations: string[];
}

const family = (addr: string) => (addr.includes(':') ? 6 : 4);
const sameFamily = (addrs: string[], like: string) => addrs.filter((a) => family(a) === family(like));

function payload(rng: Rng): Buffer {
  return rng.chance(0.05) ? rng.bytes(200 + rng.int(1260)) : rng.bytes(rng.int(64));
}

const TCP_FLAG_SETS = [0x02, 0x10, 0x18, 0x11, 0x04, 0x14, 0x12, 0x01, 0x00, 0x3f];

function l4Segment(rng: Rng, proto: number, src: string, dst: string, sport: number, dport: number): Buffer {
  const s = addrBytes(src);
  const d = addrBytes(dst);
  if (proto === IPPROTO_TCP) {
    return tcp(s, d, { sport, dport, seq: rng.int(2 ** 32), ack: rng.int(2 ** 32), flags: rng.pick(TCP_FLAG_SETS), doff: rng.chance(0.2) ? 5 + rng.int(11) : 5, payload: payload(rng) });
  }
  if (proto === IPPROTO_UDP) return udp(s, d, sport, dport, payload(rng), family(src) === 4 && rng.chance(0.1));
  if (proto === IPPROTO_SCTP) return sctp(sport, dport, payload(rng), rng.int(2 ** 32));
  // An echo request (ICMPv6 sums a pseudo header: the frame's sealing writes that one).
  const echo = Buffer.concat([Buffer.from([family(src) === 4 ? 8 : 128, 0, 0, 0]), rng.bytes(4), payload(rng)]);
  if (family(src) === 4) echo.writeUInt16BE(internetChecksum(echo), 2);
  return echo;
}

function ipPacket(src: string, dst: string, proto: number, seg: Buffer): Buffer {
  return family(src) === 4 ? ipv4({ src, dst, proto, payload: seg, fragField: 0 }) : ipv6({ src, dst, nextHeader: proto, payload: seg });
}

export const protoNumber = (p: L4) => ({ TCP: IPPROTO_TCP, UDP: IPPROTO_UDP, SCTP: IPPROTO_SCTP })[p];
/** The transports kpr balances: their first 4 bytes are the ports. */
export const BALANCED = [IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP];

/** A packet as it should be: one of the kinds of traffic the node sees. */
function basePacket(rng: Rng, t: FuzzTargets): Buffer {
  const roll = rng.next();
  const sport = rng.pick(t.clientPorts);
  if (roll < 0.35) {
    // A client to a frontend; now and then the wrong port or protocol.
    const fe = rng.pick(t.frontends);
    const client = rng.pick(sameFamily(t.clients, fe.addr));
    let proto = protoNumber(fe.proto);
    if (rng.chance(0.1)) proto = rng.pick([...BALANCED, family(fe.addr) === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6]);
    const dport = rng.chance(0.1) ? fe.port + 1 : fe.port;
    return ipPacket(client, fe.addr, proto, l4Segment(rng, proto, client, fe.addr, sport, dport));
  }
  if (roll < 0.5) {
    // Not for any frontend.
    const dst = rng.pick(t.others);
    const src = rng.pick(sameFamily(t.clients, dst));
    const proto = rng.pick([...BALANCED, family(dst) === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6]);
    const fe = rng.pick(t.frontends);
    return ipPacket(src, dst, proto, l4Segment(rng, proto, src, dst, sport, rng.chance(0.5) ? fe.port : rng.int(65536)));
  }
  if (roll < 0.7) {
    // A backend's reply, or what looks like one.
    const r = rng.pick(t.repliers);
    const dst = r.to && rng.chance(0.8) ? r.to : rng.pick(sameFamily(t.clients, r.addr));
    const proto = rng.chance(0.9) ? protoNumber(r.proto) : rng.pick(BALANCED);
    const dport = t.snatPorts.length > 0 && rng.chance(0.5) ? rng.pick(t.snatPorts) : sport;
    return ipPacket(r.addr, dst, proto, l4Segment(rng, proto, r.addr, dst, rng.chance(0.9) ? r.port : r.port + 1, dport));
  }
  if (roll < 0.85) {
    // An ICMP error, now and then sent on by another node in kpr's tunnel.
    const error = icmpErrorPacket(rng, t);
    return rng.chance(0.2) ? dsrWrap(rng, t, error) : error;
  }
  // A client's packet to a backend in kpr's DSR tunnel, naming a frontend.
  return dsrWrap(rng, t, clientToBackend(rng, t, sport));
}

/** A client's packet to a backend, as the DSR tunnel carries it. */
function clientToBackend(rng: Rng, t: FuzzTargets, sport: number): Buffer {
  const r = rng.pick(t.repliers);
  const client = rng.pick(sameFamily(t.clients, r.addr));
  const proto = protoNumber(r.proto);
  return ipPacket(client, r.addr, proto, l4Segment(rng, proto, client, r.addr, sport, r.port));
}

/** [type, code] of ICMP errors by family: port unreachable, fragmentation
 *  needed / packet too big, host unreachable, time exceeded, parameter problem. */
const ICMP_ERRORS: Record<4 | 6, [number, number][]> = {
  4: [[3, 3], [3, 4], [3, 1], [11, 0], [12, 0]],
  6: [[1, 4], [2, 0], [1, 3], [3, 0], [4, 0]],
};
/** ICMP that is no error about a flow: echo request and reply, redirect. */
const ICMP_OTHERS: Record<4 | 6, [number, number][]> = {
  4: [[8, 0], [0, 0], [5, 1]],
  6: [[128, 0], [129, 0], [137, 0]],
};

/** The packet an error is about: a frontend's reply to a client, this
 *  node's snat packet to a backend, a client's packet to a backend on this
 *  node, or any packet at all. */
function quotedPacket(rng: Rng, t: FuzzTargets): Buffer {
  const roll = rng.next();
  const cport = rng.pick(t.clientPorts);
  if (roll < 0.35) {
    const fe = rng.pick(t.frontends);
    const client = rng.pick(sameFamily(t.clients, fe.addr));
    const proto = protoNumber(fe.proto);
    return ipPacket(fe.addr, client, proto, l4Segment(rng, proto, fe.addr, client, fe.port, cport));
  }
  const snat = t.repliers.filter((r) => r.to);
  if (roll < 0.65 && snat.length > 0 && t.snatPorts.length > 0) {
    const r = rng.pick(snat);
    const proto = protoNumber(r.proto);
    return ipPacket(r.to!, r.addr, proto, l4Segment(rng, proto, r.to!, r.addr, rng.pick(t.snatPorts), r.port));
  }
  const r = rng.pick(t.repliers);
  const proto = protoNumber(r.proto);
  if (roll < 0.9) {
    const client = rng.pick(sameFamily(t.clients, r.addr));
    return ipPacket(client, r.addr, proto, l4Segment(rng, proto, client, r.addr, cport, r.port));
  }
  const anyone = [...t.others, ...t.clients];
  const src = rng.pick(anyone);
  const dst = rng.pick(sameFamily(anyone, src));
  const p = rng.pick(BALANCED);
  return ipPacket(src, dst, p, l4Segment(rng, p, src, dst, cport, rng.int(65536)));
}

/** An ICMP error about such a packet, to the packet's source, from anyone
 *  (the packet's destination, a router, this node); now and then its quote
 *  bent (mutateIp) or cut anywhere, of the other family, sent elsewhere, or
 *  an ICMP message that is no error. */
function icmpErrorPacket(rng: Rng, t: FuzzTargets): Buffer {
  let quoted = quotedPacket(rng, t);
  const quotedFamily = quoted[0] >> 4 === 6 ? 6 : 4;
  const quotedSrc = formatAddr(quotedFamily === 6 ? quoted.subarray(8, 24) : quoted.subarray(12, 16));
  const hl = quotedFamily === 6 ? 40 : (quoted[0] & 0xf) * 4;
  if (rng.chance(0.2)) quoted = mutateIp(rng, quoted);
  const errorFamily = rng.chance(0.05) ? 10 - quotedFamily : quotedFamily;
  const senders = [...t.others, ...t.clients, ...t.repliers.map((r) => r.addr), ...t.tunnelDestinations].filter((a) => family(a) === errorFamily);
  const dst = errorFamily === quotedFamily && rng.chance(0.9) ? quotedSrc : rng.pick(senders);
  const [type, code] = rng.pick(rng.chance(0.9) ? ICMP_ERRORS[errorFamily as 4 | 6] : ICMP_OTHERS[errorFamily as 4 | 6]);
  const cut = rng.pick([quoted.length, quoted.length, hl + 8, hl + 8, rng.int(quoted.length + 1)]);
  const mtu = 1280 + rng.int(220);
  return icmpError(rng.pick(senders), dst, type, code, quoted.subarray(0, cut), rng.chance(0.8) ? mtu : rng.int(2 ** 32));
}

/** kpr's tunnel (kpr_edge_encap.h) for packets like inner; now and then of the
 * other family than the inner packet, which kpr never sends. */
function dsrWrapper(rng: Rng, t: FuzzTargets, like: Buffer): (inner: Buffer) => Buffer {
  const innerFamily = like[0] >> 4 === 6 ? 6 : 4;
  const outer = rng.chance(0.9) ? innerFamily : 10 - innerFamily;
  const fe = rng.pick(t.frontends.filter((f) => family(f.addr) === outer));
  const src = rng.pick(t.tunnelSources.filter((a) => family(a) === outer));
  const dst = rng.pick(sameFamily(t.tunnelDestinations, src));
  return (inner) => dsrTunnel(inner, src, dst, { addr: fe.addr, port: fe.port });
}

function dsrWrap(rng: Rng, t: FuzzTargets, inner: Buffer): Buffer {
  return dsrWrapper(rng, t, inner)(inner);
}

/** Plain IP-in-IP of either family around an IP packet of either family. */
function plainWrap(rng: Rng, t: FuzzTargets, inner: Buffer): Buffer {
  const src = rng.pick(t.tunnelSources);
  const dst = rng.pick(sameFamily(t.tunnelDestinations, src));
  const proto = inner[0] >> 4 === 6 ? IPPROTO_IPV6 : IPPROTO_IPIP;
  return ipPacket(src, dst, proto, inner);
}

const V4_OPTIONS: ((rng: Rng) => Buffer)[] = [
  () => Buffer.from([1]), // NOP
  () => Buffer.from([0]), // end of options
  () => Buffer.from([0x94, 4, 0, 0]), // router alert
  (rng) => Buffer.concat([Buffer.from([7, 11, 4]), rng.bytes(8)]), // record route
  (rng) => Buffer.concat([Buffer.from([0x44, 12, 5, 0]), rng.bytes(8)]), // timestamp
  (rng) => Buffer.concat([Buffer.from([0x9e, 8]), rng.bytes(6)]), // kpr's DSR option
  (rng) => rng.bytes(1 + rng.int(12)), // anything
];

/** IPv4 options (up to the 40 bytes IHL allows, sometimes at the edge of it). */
function withIpv4Options(rng: Rng, pkt: Buffer): Buffer {
  const hl = (pkt[0] & 0xf) * 4;
  const parts: Buffer[] = [];
  let len = 0;
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const o = rng.pick(V4_OPTIONS)(rng);
    if (len + o.length > 40) break;
    parts.push(o);
    len += o.length;
  }
  const opts = Buffer.concat([...parts, Buffer.alloc((4 - (len % 4)) % 4)]);
  const h = Buffer.concat([pkt.subarray(0, 20), opts]);
  h[0] = 0x40 | (h.length / 4);
  h.writeUInt16BE((pkt.readUInt16BE(2) - hl + h.length) & 0xffff, 2);
  return Buffer.concat([h, pkt.subarray(hl)]);
}

/** One IPv6 extension header whose next header is `next`. */
function extensionHeader(rng: Rng, type: number, next: number): Buffer {
  if (type === IPPROTO_FRAGMENT) {
    const h = Buffer.alloc(8);
    h[0] = next;
    // Atomic, first with more to come, or a later piece.
    h.writeUInt16BE(rng.pick([0, 1, (1 + rng.int(100)) << 3, ((1 + rng.int(100)) << 3) | 1]), 2);
    rng.bytes(4).copy(h, 4);
    return h;
  }
  const units = rng.int(3);
  const h = Buffer.alloc(8 * (units + 1));
  h[0] = next;
  h[1] = units;
  if (type === IPPROTO_ROUTING) {
    h[2] = rng.pick([0, 2, 4]);
    h[3] = rng.int(2); // segments left
  } else if (type === IPPROTO_DSTOPTS && units >= 2 && rng.chance(0.3)) {
    h.set([0x1e, 18], 2); // kpr's DSR option, the frontend being random bytes
    rng.bytes(18).copy(h, 4);
    if (h.length > 22) h.set([1, h.length - 24], 22);
  } else {
    h.set([1, h.length - 4], 2); // PadN
  }
  return h;
}

/** A chain of IPv6 extension headers between the fixed header and the rest. */
function withIpv6Extensions(rng: Rng, pkt: Buffer): Buffer {
  const types = Array.from({ length: 1 + rng.int(3) }, () => rng.pick([IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT]));
  let next = pkt[6];
  const headers: Buffer[] = [];
  for (const type of types.reverse()) {
    headers.unshift(extensionHeader(rng, type, next));
    next = type;
  }
  const out = Buffer.concat([pkt.subarray(0, 40), ...headers, pkt.subarray(40)]);
  out[6] = next;
  out.writeUInt16BE((out.length - 40) & 0xffff, 4);
  return out;
}

/** An IPv4 fragment: the first (more to come) or a later one. */
function asIpv4Fragment(rng: Rng, pkt: Buffer): Buffer {
  const out = Buffer.from(pkt);
  out.writeUInt16BE(rng.pick([0x2000, 0x6000, 1 + rng.int(0x1fff), 0x2000 | (1 + rng.int(0x1fff))]), 6);
  return out;
}

/** Lengths that disagree with the packet: IPv4 total length and IHL, IPv6 payload length. */
function withBogusLength(rng: Rng, pkt: Buffer): Buffer {
  const out = Buffer.from(pkt);
  if (out[0] >> 4 === 4) {
    if (rng.chance(0.3)) out[0] = 0x40 | rng.int(16);
    else out.writeUInt16BE(rng.pick([0, 19, 20, out.length - 1, out.length + 1, 0xffff, rng.int(out.length + 64)]) & 0xffff, 2);
  } else {
    out.writeUInt16BE(rng.pick([0, 7, out.length - 41, out.length - 39, 0xffff, rng.int(out.length)]) & 0xffff, 4);
  }
  return out;
}

/** L4 headers that lie: TCP data offset, UDP length. */
function withBogusL4(rng: Rng, pkt: Buffer): Buffer {
  const out = Buffer.from(pkt);
  const v4 = out[0] >> 4 === 4;
  const l4 = v4 ? (out[0] & 0xf) * 4 : 40;
  const proto = v4 ? out[9] : out[6];
  if (proto === IPPROTO_TCP && out.length >= l4 + 20) out[l4 + 12] = (rng.int(16) << 4) | (out[l4 + 12] & 0xf);
  else if (proto === IPPROTO_UDP && out.length >= l4 + 8) out.writeUInt16BE(rng.pick([0, 7, 8, out.length - l4 + 1, rng.int(65536)]), l4 + 4);
  return out;
}

function mutateIp(rng: Rng, pkt: Buffer): Buffer {
  const v4 = pkt[0] >> 4 === 4;
  switch (rng.int(5)) {
    case 0:
      return v4 ? withIpv4Options(rng, pkt) : withIpv6Extensions(rng, pkt);
    case 1:
      return v4 ? asIpv4Fragment(rng, pkt) : withIpv6Extensions(rng, pkt);
    case 2:
      return withBogusLength(rng, pkt);
    case 3:
      return withBogusL4(rng, pkt);
    default: {
      const out = Buffer.from(pkt);
      if (rng.chance(0.5)) out[0] = (rng.int(16) << 4) | (out[0] & 0xf); // version
      else out[v4 ? 9 : 6] = rng.pick([IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_DSTOPTS, rng.int(256)]);
      return out;
    }
  }
}

function frameOf(ip: Buffer): Buffer {
  return ethernet(NODE_MAC, CLIENT_MAC, ip[0] >> 4 === 6 ? ETH_P_IPV6 : ETH_P_IP, ip);
}

/** One 802.1Q tag, or two (802.1ad outside): the frame's type follows the last. */
function withVlanTags(rng: Rng, frame: Buffer): Buffer {
  const tpids = rng.chance(0.5) ? [ETH_P_8021AD, ETH_P_8021Q] : [ETH_P_8021Q];
  const tags = tpids.map((tpid) => {
    const tag = Buffer.alloc(4);
    tag.writeUInt16BE(tpid, 0);
    tag.writeUInt16BE(rng.int(4096), 2);
    return tag;
  });
  return Buffer.concat([frame.subarray(0, 12), ...tags, frame.subarray(12)]);
}

function truncated(rng: Rng, frame: Buffer): Buffer {
  const cuts = walkFrame(frame).boundaries.filter((b) => b <= frame.length);
  const at = rng.chance(0.8) && cuts.length ? rng.pick(cuts) + rng.pick([0, 0, -1, 1, -2]) : rng.int(frame.length);
  return frame.subarray(0, Math.max(0, Math.min(frame.length, at)));
}

function withFlippedBytes(rng: Rng, frame: Buffer): Buffer {
  const out = Buffer.from(frame);
  const span = Math.min(out.length, 12 + 40 + 64 + 40);
  for (let n = 1 + rng.int(4); n > 0 && span > 0; n--) {
    const i = rng.int(span);
    out[i] = rng.chance(0.5) ? out[i] ^ (1 << rng.int(8)) : rng.int(256);
  }
  return out;
}

/** One fuzzed frame. Most keep correct checksums, so that a checksum a
 *  program breaks is told apart from one the sender broke. */
export function fuzzFrame(rng: Rng, t: FuzzTargets): Buffer {
  let ip = basePacket(rng, t);
  const mutate = rng.chance(0.75);
  if (mutate) for (let n = rng.int(3); n > 0; n--) ip = mutateIp(rng, ip);
  if (mutate && rng.chance(0.25)) {
    for (let n = 1 + rng.int(3); n > 0; n--) {
      ip = rng.chance(0.5) ? dsrWrap(rng, t, ip) : plainWrap(rng, t, ip);
      if (rng.chance(0.3)) ip = mutateIp(rng, ip);
    }
  }
  let frame = frameOf(ip);
  if (mutate && rng.chance(0.05)) frame = withVlanTags(rng, frame);
  if (mutate && rng.chance(0.05)) frame.writeUInt16BE(rng.pick([ETH_P_IP, ETH_P_IPV6, 0x0806, rng.int(65536)]), 12);
  if (mutate && rng.chance(0.1)) frame = Buffer.concat([frame, rng.bytes(1 + rng.int(40))]); // padding, trailing bytes
  if (!mutate || rng.chance(0.85)) sealChecksums(frame);
  if (mutate && rng.chance(0.2)) frame = truncated(rng, frame);
  if (mutate && rng.chance(0.15)) frame = withFlippedBytes(rng, frame);
  return frame.length >= ETH_HLEN ? frame : Buffer.concat([frame, Buffer.alloc(ETH_HLEN - frame.length)]);
}

/** A fuzzed frame, and for a piece of a datagram sent in fragments, which
 *  datagram (numbered from 0 in the order they are cut) and whether it is
 *  the first piece, the one with the L4 header. */
export interface FuzzFrame {
  frame: Buffer;
  piece?: { datagram: number; first: boolean };
}

/** Fragments sent out of order, now and then: the later ones first, or shuffled. */
function reordered<T>(rng: Rng, xs: T[]): T[] {
  const roll = rng.next();
  if (roll < 0.8) return xs;
  if (roll < 0.9) return [...xs].reverse();
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** One datagram of the node's traffic in 2 to 4 fragments (a datagram too
 *  short to cut stays whole), bare, or, as a DSR sender's XDP sends them,
 *  each in the same kpr tunnel. Its identification is its own (n), so no
 *  other frame's state is taken for it. */
function fragmentedDatagram(rng: Rng, t: FuzzTargets, n: number): FuzzFrame[] {
  const tunnelled = rng.chance(0.25);
  const ip = tunnelled ? clientToBackend(rng, t, rng.pick(t.clientPorts)) : basePacket(rng, t);
  const v6 = ip[0] >> 4 === 6;
  const payload = v6 ? ip.length - 40 : ip.length - 20;
  const chunk = 8 * Math.max(1, Math.ceil(payload / (2 + rng.int(3)) / 8));
  let pieces = fragmentFrame(frameOf(ip), chunk, v6 ? 0x80000000 + n : 0x8000 | n % 0x8000);
  if (pieces.length < 2) return [{ frame: frameOf(ip) }];
  if (tunnelled) {
    const wrap = dsrWrapper(rng, t, ip);
    pieces = pieces.map((f) => frameOf(wrap(f.subarray(ETH_HLEN))));
  }
  return reordered(rng, pieces.map((frame, i) => ({ frame, piece: { datagram: n, first: i === 0 } })));
}

/** Frames one after another: mostly one fuzzed frame at a time, now and then
 *  a datagram's fragments in a row. */
export function* fuzzFrames(rng: Rng, t: FuzzTargets): Generator<FuzzFrame, never> {
  for (let n = 0; ; ) {
    if (rng.chance(0.05)) yield* fragmentedDatagram(rng, t, n++);
    else yield { frame: fuzzFrame(rng, t) };
  }
}
