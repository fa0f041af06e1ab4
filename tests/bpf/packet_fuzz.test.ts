// Fuzzing the edge programs (and the per-packet path's) through BPF_PROG_TEST_RUN: per program, at least
// 100k generated and mutated frames (fuzz_packets.ts), each checked against
// what must hold whatever the input: a valid action; a frame that is not
// kpr's business leaves byte for byte as it came; a frame kpr rewrites leaves
// with lengths that fit and checksums that verify (checksums.ts), inner
// headers and ICMP errors' quotes included; an ICMP error kpr translates
// changes in nothing but its addresses, ports and checksums; a later fragment
// of a datagram the fuzzer cut goes the way its first fragment went
// (kpr_edge_frag.h). KPR_FUZZ_SEED picks another sequence, KPR_FUZZ_COUNT
// another length; a failure prints the seed, the index and both frames.
import { EdgeBackend, EdgeFrontend, ProgTestRunResult } from '../../lib/datapath/native';
import { BpfRoot } from '../helpers/bpf_root';
import { assertPrivileged } from '../helpers/preflight';
import {
  checksumFaults, ICMP_ERROR_TYPES, ICMPV6_ERROR_TYPES, IPPROTO_DSTOPTS, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_IPIP,
} from './checksums';
import { BALANCED, Endpoint, FuzzFrame, fuzzFrames, FuzzTargets, protoNumber, Rng } from './fuzz_packets';
import * as P from './packets';
import {
  createEdgeFixture, EdgeFixture, LINK_CLIENT4, LINK_CLIENT6, NODE4, NODE6, openBpfRoot, PEER4, PEER6, PROG, TC_ACT_OK,
  TC_EGRESS, TC_INGRESS, UNRESOLVED4, XDP_DROP, XDP_PASS, XDP_REDIRECT, XDP_TX,
} from './xdp_fixture';

const DEFAULT_SEED = 0x6b7072; // "kpr"
const SEED = Number(process.env.KPR_FUZZ_SEED ?? DEFAULT_SEED);
const COUNT = Number(process.env.KPR_FUZZ_COUNT ?? 100_000);
const TC_ACT_SHOT = 2;
const POD_INGRESS = 'kpr_tc_pod_ingress';
const MAX_REPORTED = 10;
/** Per program: 100k frames take about 20 s on a loaded 2-CPU VM. */
const TIMEOUT_MS = 120_000 * Math.max(1, COUNT / 100_000);
/** The most a program adds in front: kpr's IP6IP6 header and option. */
const MAX_GROWTH = 64;

const VIP4 = '198.18.100.10';
const VIP6 = 'fd00:198:18:100::10';
const LOCAL4 = { tcp: { addr: '198.18.50.1', port: 8080 }, udp: { addr: '198.18.50.2', port: 5353 }, sctp: { addr: '198.18.50.3', port: 38412 } };
const LOCAL6 = { tcp: { addr: 'fd00:198:18:50::1', port: 8080 }, udp: { addr: 'fd00:198:18:50::2', port: 5353 } };
const SNAT_PORT = 8443;
const M = 251;

interface Service {
  fe: Endpoint;
  backends: Omit<EdgeBackend, 'svcId' | 'id'>[];
  extra?: Partial<EdgeFrontend>;
}

/** Every path of kpr_xdp_lb: DSR, local, snat, reject, drop, no route, source ranges, NodePorts; SCTP's
 *  with a new port (local, DSR, snat) and its reject. */
const SERVICES: Service[] = [
  { fe: { addr: VIP4, port: 80, proto: 'TCP' }, backends: [{ addr: '198.18.60.1', port: 8080, nodeAddr: PEER4 }] },
  { fe: { addr: VIP4, port: 53, proto: 'UDP' }, backends: [LOCAL4.udp] },
  { fe: { addr: VIP4, port: 443, proto: 'TCP' }, backends: [{ addr: PEER4, port: SNAT_PORT, nodeAddr: PEER4 }], extra: { mode: 'snat' } },
  { fe: { addr: VIP4, port: 81, proto: 'TCP' }, backends: [] },
  { fe: { addr: VIP4, port: 54, proto: 'UDP' }, backends: [] },
  { fe: { addr: VIP4, port: 82, proto: 'TCP' }, backends: [], extra: { noBackend: 'drop' } },
  { fe: { addr: VIP4, port: 84, proto: 'UDP' }, backends: [{ addr: '198.18.60.3', port: 5353, nodeAddr: UNRESOLVED4 }] },
  { fe: { addr: VIP4, port: 85, proto: 'TCP' }, backends: [LOCAL4.tcp], extra: { sourceRanges: true } },
  { fe: { addr: NODE4, port: 30080, proto: 'TCP' }, backends: [LOCAL4.tcp] },
  { fe: { addr: VIP6, port: 80, proto: 'TCP' }, backends: [{ addr: 'fd00:198:18:60::1', port: 8080, nodeAddr: PEER6 }] },
  { fe: { addr: VIP6, port: 53, proto: 'UDP' }, backends: [LOCAL6.udp] },
  { fe: { addr: VIP6, port: 443, proto: 'UDP' }, backends: [{ addr: PEER6, port: SNAT_PORT, nodeAddr: PEER6 }], extra: { mode: 'snat' } },
  { fe: { addr: VIP6, port: 81, proto: 'TCP' }, backends: [] },
  { fe: { addr: VIP6, port: 54, proto: 'UDP' }, backends: [] },
  { fe: { addr: NODE6, port: 30080, proto: 'TCP' }, backends: [LOCAL6.tcp] },
  { fe: { addr: VIP4, port: 36412, proto: 'SCTP' }, backends: [LOCAL4.sctp] },
  { fe: { addr: VIP4, port: 36413, proto: 'SCTP' }, backends: [{ addr: PEER4, port: SNAT_PORT, nodeAddr: PEER4 }], extra: { mode: 'snat' } },
  { fe: { addr: VIP6, port: 36412, proto: 'SCTP' }, backends: [{ addr: 'fd00:198:18:60::1', port: 38412, nodeAddr: PEER6 }] },
  { fe: { addr: VIP6, port: 36413, proto: 'SCTP' }, backends: [] },
];

const LOCAL_BACKENDS: Endpoint[] = [
  { ...LOCAL4.tcp, proto: 'TCP' }, { ...LOCAL4.udp, proto: 'UDP' }, { ...LOCAL6.tcp, proto: 'TCP' }, { ...LOCAL6.udp, proto: 'UDP' },
  { ...LOCAL4.sctp, proto: 'SCTP' },
];
const SNAT_BACKENDS = [PEER4, PEER6];

const TARGETS: FuzzTargets = {
  frontends: SERVICES.map((s) => s.fe),
  others: ['198.18.100.11', '198.18.60.1', PEER4, '198.19.5.5', 'fd00:198:18:100::11', 'fd00:198:18:60::1', PEER6],
  clients: ['198.19.5.5', '198.19.6.6', LINK_CLIENT4, 'fd00:198:18:5::5', LINK_CLIENT6],
  clientPorts: [40000, 40001, 40002, 40003],
  snatPorts: [],
  repliers: [
    ...LOCAL_BACKENDS,
    { addr: PEER4, port: SNAT_PORT, proto: 'TCP', to: NODE4 },
    { addr: PEER6, port: SNAT_PORT, proto: 'UDP', to: NODE6 },
    { addr: PEER4, port: SNAT_PORT, proto: 'SCTP', to: NODE4 },
  ],
  tunnelSources: [PEER4, '198.19.5.5', PEER6],
  tunnelDestinations: [NODE4, '198.18.0.7', NODE6, 'fd00:198:18::7'],
};

/** The IP header right behind an untagged Ethernet header, as far as the frame has it. */
interface IpFields {
  version: 4 | 6;
  /** IPv6: the header behind a Fragment header, if there is one. */
  proto: number;
  src: string;
  dst: string;
  /** Where the L4 header is, or a later fragment's data. */
  l4: number;
  /** A piece of a datagram (IPv6: not an atomic fragment). */
  fragment: boolean;
  /** A piece other than the first: no L4 header. */
  later: boolean;
}

function ipFields(frame: Buffer): IpFields | undefined {
  const type = frame.readUInt16BE(12);
  if (type === P.ETH_P_IP && frame.length >= P.ETH_HLEN + 20) {
    const field = frame.readUInt16BE(20);
    return {
      version: 4,
      proto: frame[23],
      src: P.formatAddr(frame.subarray(26, 30)),
      dst: P.formatAddr(frame.subarray(30, 34)),
      l4: P.ETH_HLEN + (frame[P.ETH_HLEN] & 0xf) * 4,
      fragment: (field & 0x3fff) !== 0,
      later: (field & 0x1fff) !== 0,
    };
  }
  if (type === P.ETH_P_IPV6 && frame.length >= P.ETH_HLEN + 40) {
    const ip: IpFields = { version: 6, proto: frame[20], src: P.formatAddr(frame.subarray(22, 38)), dst: P.formatAddr(frame.subarray(38, 54)), l4: P.ETH_HLEN + 40, fragment: false, later: false };
    if (ip.proto !== P.IPPROTO_FRAGMENT || frame.length < P.ETH_HLEN + 48) return ip;
    const field = frame.readUInt16BE(P.ETH_HLEN + 42);
    return { ...ip, proto: frame[P.ETH_HLEN + 40], l4: ip.l4 + 8, fragment: (field & 0xfff9) !== 0, later: (field & 0xfff8) !== 0 };
  }
  return undefined;
}

const withPorts = (proto: number) => BALANCED.includes(proto);

/** A later fragment kpr balances: only TCP's, UDP's and SCTP's. */
const laterBalanced = (ip: IpFields | undefined) => !!ip?.later && withPorts(ip.proto);

const fmt = (addr: string) => P.formatAddr(P.addrBytes(addr));
const FRONTENDS = new Set(SERVICES.map((s) => `${fmt(s.fe.addr)} ${s.fe.port} ${protoNumber(s.fe.proto)}`));
const NODES = new Set([NODE4, NODE6].map(fmt));
const FRONTEND_ADDRS = new Set(SERVICES.map((s) => fmt(s.fe.addr)));
const SNAT_SOURCES = new Set(SNAT_BACKENDS.map(fmt));
const LOCAL_SOURCES = new Set(LOCAL_BACKENDS.map((b) => fmt(b.addr)));

/** The TCP/UDP/SCTP packet an ICMP error quotes, as far as its ports, and where
 *  each part of the error lies. */
interface ErrorQuote {
  version: 4 | 6;
  icmp: number;
  ip: number;
  l4: number;
  proto: number;
  src: string;
  dst: string;
  sport: number;
}

function errorQuote(frame: Buffer): ErrorQuote | undefined {
  const ip = ipFields(frame);
  if (!ip || ip.fragment || ip.proto !== (ip.version === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6)) return undefined;
  const q = ip.l4 + 8;
  if (frame.length < q + 20 || !(ip.version === 4 ? ICMP_ERROR_TYPES : ICMPV6_ERROR_TYPES).has(frame[ip.l4]) || frame[q] >> 4 !== ip.version) return undefined;
  const [hl, proto, addrs, alen] = ip.version === 4 ? [(frame[q] & 0xf) * 4, frame[q + 9], q + 12, 4] : [40, frame[q + 6], q + 8, 16];
  if (frame.length < q + hl + 4 || !withPorts(proto)) return undefined;
  const addr = (at: number) => P.formatAddr(frame.subarray(at, at + alen));
  return { version: ip.version, icmp: ip.l4, ip: q, l4: q + hl, proto, src: addr(addrs), dst: addr(addrs + alen), sport: frame.readUInt16BE(q + hl) };
}

/** Bytes translating an ICMP error may touch: the outer addresses and IPv4
 *  checksum, the ICMP checksum, the quoted addresses, ports, IPv4 checksum
 *  and TCP/UDP checksum (a quoted SCTP checksum stays as it was). */
function errorSpan(q: ErrorQuote): Set<number> {
  const span = new Set<number>();
  const add = (from: number, len: number) => {
    for (let i = from; i < from + len; i++) span.add(i);
  };
  if (q.version === 4) add(P.ETH_HLEN + 10, 10);
  else add(P.ETH_HLEN + 8, 32);
  add(q.icmp + 2, 2);
  if (q.version === 4) add(q.ip + 10, 10);
  else add(q.ip + 8, 32);
  add(q.l4, 4);
  if (q.proto !== P.IPPROTO_SCTP) add(q.l4 + (q.proto === P.IPPROTO_TCP ? 16 : 6), 2);
  return span;
}

/** An ICMP error kpr sent on: within the frame (past the MACs, which the FIB
 *  sets) only its addresses, ports and checksums changed, inside kpr's
 *  tunnel when it grew by one, and every checksum verifies. */
function translatedErrorFaults(input: Buffer, out: Buffer, q: ErrorQuote): string | undefined {
  const tunnel = q.version === 4 ? 28 : 64;
  const inner = out.length === input.length + tunnel ? Buffer.concat([out.subarray(0, P.ETH_HLEN), out.subarray(P.ETH_HLEN + tunnel)]) : out;
  const changed = changedOffsets(input, inner);
  const span = errorSpan(q);
  if (!changed || changed.some((i) => i >= 12 && !span.has(i))) return 'an ICMP error changed beyond its addresses, ports and checksums';
  return outputFaults(input, out, false);
}

/** Whether kpr_xdp_lb may change the frame: its destination (address, port,
 *  protocol) is a frontend, it may be a snat backend's reply to this node, or
 *  an ICMP error about a frontend's reply or this node's snat packet; a later
 *  fragment, which has no ports, when its destination is a frontend's address
 *  or this node's (its first fragment's may have been kpr's). */
function xdpMayRewrite(frame: Buffer): boolean {
  const ip = ipFields(frame);
  if (!ip) return false;
  if (NODES.has(ip.dst) && SNAT_SOURCES.has(ip.src)) return true;
  const q = errorQuote(frame);
  if (q && (FRONTENDS.has(`${q.src} ${q.sport} ${q.proto}`) || (NODES.has(q.src) && SNAT_SOURCES.has(q.dst)))) return true;
  if (ip.later) return FRONTEND_ADDRS.has(ip.dst) || NODES.has(ip.dst);
  return frame.length >= ip.l4 + 4 && FRONTENDS.has(`${ip.dst} ${frame.readUInt16BE(ip.l4 + 2)} ${ip.proto}`);
}

/** Offsets where two frames of one length differ; undefined when their lengths differ. */
function changedOffsets(a: Buffer, b: Buffer): number[] | undefined {
  if (a.length !== b.length) return undefined;
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

/** Bytes a rewrite of one side (address, port) may touch: that address, that
 *  port, the IPv4 header checksum, the L4 checksum; of a later fragment,
 *  which has no L4 header, the address and the IPv4 header checksum. */
function rewriteSpan(frame: Buffer, side: 'src' | 'dst'): Set<number> {
  const ip = ipFields(frame)!;
  const span = new Set<number>();
  const add = (from: number, len: number) => {
    for (let i = from; i < from + len; i++) span.add(i);
  };
  if (ip.version === 4) {
    add(24, 2);
    add(side === 'src' ? 26 : 30, 4);
  } else {
    add(side === 'src' ? 22 : 38, 16);
  }
  if (ip.later) return span;
  add(ip.l4 + (side === 'src' ? 0 : 2), 2);
  if (ip.proto === P.IPPROTO_SCTP) add(ip.l4 + 8, 4);
  else add(ip.l4 + (ip.proto === P.IPPROTO_TCP ? 16 : 6), 2);
  return span;
}

/** The frame with the addresses of the IP header set (IPv4: its checksum
 *  computed afresh), as a later fragment given its first's addresses is. */
function withAddresses(frame: Buffer, src: string, dst: string): Buffer {
  const out = Buffer.from(frame);
  const v4 = ipFields(frame)!.version === 4;
  P.addrBytes(src).copy(out, v4 ? 26 : 22);
  P.addrBytes(dst).copy(out, v4 ? 30 : 38);
  if (v4) {
    const hl = (out[P.ETH_HLEN] & 0xf) * 4;
    out.writeUInt16BE(0, 24);
    out.writeUInt16BE(P.internetChecksum(out.subarray(P.ETH_HLEN, P.ETH_HLEN + hl)), 24);
  }
  return out;
}

/** What kpr_xdp_lb put in front of a frame it tunnelled: the bytes it grew by. */
const TUNNEL_HEADERS = [0, 28, 64];

/** A frame behind its Ethernet header, less `outer` bytes of tunnel header. */
const untunnelled = (frame: Buffer, outer: number) => Buffer.concat([frame.subarray(0, P.ETH_HLEN), frame.subarray(P.ETH_HLEN + outer)]);

/** Checksums and lengths of a frame a program changed. A reply kpr builds
 *  from scratch (RST, ICMP error) must verify whatever came in, but for the
 *  packet an ICMP error quotes, which is the input's own bytes; a rewrite
 *  must keep a frame that verified verifying. */
function outputFaults(input: Buffer, out: Buffer, builtAfresh: boolean): string | undefined {
  if (out.length > input.length + MAX_GROWTH) return `grew by ${out.length - input.length} bytes`;
  const faults = checksumFaults(out);
  if (!faults.length || checksumFaults(input).length === 0) return faults.length ? faults.join('; ') : undefined;
  const own = (f: string) => !f.endsWith('bad checksum') || (builtAfresh && !f.startsWith('inner('));
  return faults.some(own) ? faults.join('; ') : undefined;
}

/** A RST or ICMP error kpr sent back: the frame's ends swapped. */
function isAnswer(input: Buffer, out: Buffer): boolean {
  const i = ipFields(input);
  const o = ipFields(out);
  return !!i && !!o && o.src === i.dst && o.dst === i.src;
}

/** A datagram's first fragment, as it went in and came out. */
interface FirstFragment {
  input: Buffer;
  r: ProgTestRunResult;
}

/** A later fragment of a datagram the fuzzer cut: its first, once sent. */
interface LaterPiece {
  first?: FirstFragment;
}

/** A later fragment kpr_xdp_lb sent on without knowing its first: changed
 *  only in its addresses (and the MACs, when sent back out), behind a DSR
 *  tunnel maybe, but not a byte of its data. */
function laterFragmentFaults(input: Buffer, r: ProgTestRunResult): string | undefined {
  const outer = r.packet.length - input.length;
  if (!TUNNEL_HEADERS.includes(outer)) return `a later fragment grew by ${outer} bytes`;
  const span = rewriteSpan(input, 'dst');
  if (r.retval !== XDP_PASS) {
    for (let i = 0; i < 12; i++) span.add(i);
    if (!outer) rewriteSpan(input, 'src').forEach((i) => span.add(i));
  }
  const changed = changedOffsets(input, untunnelled(r.packet, outer))!;
  if (changed.some((i) => !span.has(i))) return 'a later fragment changed beyond its addresses';
  return outputFaults(input, r.packet, false);
}

/** A later fragment of a datagram the fuzzer cut: it goes the way its first
 *  went. Before its first: dropped (frag_not_found), as one whose first was
 *  dropped or answered; after a first kpr left alone: passed untouched;
 *  after one kpr sent on: the same action, the same tunnel, and the
 *  addresses the first left with, its data untouched. Only TCP, UDP and SCTP
 *  are followed; other protocols' fragments pass. */
function xdpFollowsFirst(first: FirstFragment | undefined, input: Buffer, r: ProgTestRunResult): string | undefined {
  const same = r.packet.equals(input);
  if (!laterBalanced(ipFields(input))) return same && r.retval === XDP_PASS ? undefined : 'a later fragment of another protocol, yet changed or not passed';
  const firstSame = !!first && first.r.packet.equals(first.input);
  if (firstSame && first.r.retval === XDP_PASS) return same && r.retval === XDP_PASS ? undefined : "its first fragment not kpr's, yet changed or not passed";
  if (!first || firstSame || first.r.retval === XDP_DROP || isAnswer(first.input, first.r.packet)) {
    return same && r.retval === XDP_DROP ? undefined : 'its first fragment not sent on, yet not dropped';
  }
  if (r.retval !== first.r.retval) return `action ${r.retval}, its first fragment's ${first.r.retval}`;
  const outer = first.r.packet.length - first.input.length;
  if (r.packet.length - input.length !== outer) return 'not in the tunnel its first fragment went in';
  const firstIp = ipFields(untunnelled(first.r.packet, outer))!;
  const expected = withAddresses(input, firstIp.src, firstIp.dst);
  if (!untunnelled(r.packet, outer).subarray(P.ETH_HLEN).equals(expected.subarray(P.ETH_HLEN))) return "not given its first fragment's addresses, or changed beyond them";
  // The outer header from its addresses on (IPv4 at 12, IPv6 at 8) is the same for every fragment.
  const tunnel = (f: Buffer) => f.subarray(P.ETH_HLEN + (outer === 28 ? 12 : 8), P.ETH_HLEN + outer);
  if (outer && !tunnel(r.packet).equals(tunnel(first.r.packet))) return 'not in the tunnel its first fragment went in';
  return outputFaults(input, r.packet, false);
}

function xdpProperty(input: Buffer, r: ProgTestRunResult, piece?: LaterPiece): string | undefined {
  if (![XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT].includes(r.retval)) return `action ${r.retval}`;
  if (piece) return xdpFollowsFirst(piece.first, input, r);
  const same = r.packet.equals(input);
  const ip = ipFields(input);
  if (!xdpMayRewrite(input)) {
    // A later fragment whose first was never seen is dropped, whoever it is for.
    return same && (r.retval === XDP_PASS || (r.retval === XDP_DROP && laterBalanced(ip))) ? undefined : 'not kpr\'s, yet changed or not passed';
  }
  if (same) return r.retval === XDP_PASS || r.retval === XDP_DROP ? undefined : 'sent back unchanged';
  if (r.retval === XDP_DROP) return undefined;
  if (ip!.later) return laterFragmentFaults(input, r);
  const q = errorQuote(input);
  if (q) return translatedErrorFaults(input, r.packet, q);
  if (r.retval === XDP_PASS) {
    // Up the stack to a backend on this node: only the destination changes.
    const changed = changedOffsets(input, r.packet);
    const span = rewriteSpan(input, 'dst');
    if (!changed || changed.some((i) => !span.has(i))) return 'passed up with more changed than its destination';
  }
  const answer = isAnswer(input, r.packet);
  const inIp = ipFields(input)!;
  // A RST too big for the tunnel is answered as a router would, with ICMP.
  if (answer && inIp.proto === P.IPPROTO_TCP && input[inIp.l4 + 13] & P.TCP_RST && ipFields(r.packet)?.proto === P.IPPROTO_TCP) return 'a RST answered with a RST';
  return outputFaults(input, r.packet, answer);
}

/** Backends that tunnels to this node named (tc ingress remembers their
 *  flows): their replies are kpr's to rewrite as well. */
const tunnelledBackends = new Set<string>();

/** tc, a later fragment of a datagram the fuzzer cut: after a first the
 *  program rewrote, it gets the address the first got on that side (egress:
 *  the frontend's source; the per-packet path: the backend's destination)
 *  with its data untouched; otherwise it leaves as it came. */
function tcFollowsFirst(side: 'src' | 'dst', first: FirstFragment | undefined, input: Buffer, r: ProgTestRunResult): string | undefined {
  const same = r.packet.equals(input) && r.retval === TC_ACT_OK;
  if (!first || first.r.retval !== TC_ACT_OK || first.r.packet.equals(first.input) || !laterBalanced(ipFields(input))) {
    return same ? undefined : 'its first fragment left as it was, yet changed or dropped';
  }
  const [inIp, firstIp] = [ipFields(input)!, ipFields(first.r.packet)!];
  const expected = side === 'src' ? withAddresses(input, firstIp.src, inIp.dst) : withAddresses(input, inIp.src, firstIp.dst);
  if (r.retval !== TC_ACT_OK || !r.packet.equals(expected)) return `not given its first fragment's ${side === 'src' ? 'source' : 'destination'}, or changed beyond it`;
  return outputFaults(input, r.packet, false);
}

function tcEgressProperty(input: Buffer, r: ProgTestRunResult, piece?: LaterPiece): string | undefined {
  if (r.retval !== TC_ACT_OK && r.retval !== TC_ACT_SHOT) return `action ${r.retval}`;
  if (piece) return tcFollowsFirst('src', piece.first, input, r);
  const same = r.packet.equals(input);
  const ip = ipFields(input);
  const backendHere = (addr: string) => LOCAL_SOURCES.has(addr) || tunnelledBackends.has(addr);
  const q = errorQuote(input);
  const mayRewrite = !!ip && (backendHere(ip.src) || (!!q && backendHere(q.dst)));
  if (!mayRewrite) return same && r.retval === TC_ACT_OK ? undefined : 'not a reply of a local backend, yet changed or dropped';
  if (same || r.retval === TC_ACT_SHOT) return undefined;
  if (q) return r.packet.length === input.length ? translatedErrorFaults(input, r.packet, q) : 'an ICMP error changed in length';
  const changed = changedOffsets(input, r.packet);
  const span = rewriteSpan(input, 'src');
  if (!changed || changed.some((i) => !span.has(i))) return 'more changed than the source';
  return outputFaults(input, r.packet, false);
}

/** kpr_tc_pod_ingress: a pod's packet for a frontend of the pods' view may
 *  get a new destination (address, port, checksums: nothing else) or be
 *  dropped; anything else leaves as it came. A later fragment the fuzzer did
 *  not cut may share a datagram's identity with one it did, and follow it. */
function podIngressProperty(input: Buffer, r: ProgTestRunResult, piece?: LaterPiece): string | undefined {
  if (r.retval !== TC_ACT_OK && r.retval !== TC_ACT_SHOT) return `action ${r.retval}`;
  if (piece) return tcFollowsFirst('dst', piece.first, input, r);
  const same = r.packet.equals(input);
  const ip = ipFields(input);
  const forFrontend = !!ip && !ip.later && input.length >= ip.l4 + 4 && FRONTENDS.has(`${ip.dst} ${input.readUInt16BE(ip.l4 + 2)} ${ip.proto}`);
  if (!forFrontend && !ip?.later) return same && r.retval === TC_ACT_OK ? undefined : 'not for a frontend, yet changed or dropped';
  if (same || (r.retval === TC_ACT_SHOT && forFrontend)) return undefined;
  if (r.retval === TC_ACT_SHOT) return 'a later fragment dropped';
  const changed = changedOffsets(input, r.packet);
  const span = rewriteSpan(input, 'dst');
  if (!changed || changed.some((i) => !span.has(i))) return 'more changed than the destination';
  return outputFaults(input, r.packet, false);
}

/** kpr's tunnel to this node (kpr_edge_encap.h): outer IPv4 with protocol IPIP,
 *  or outer IPv6 with destination options, addressed to the node; its size. */
function tunnelToNode(frame: Buffer): number | undefined {
  const ip = ipFields(frame);
  if (!ip || !NODES.has(ip.dst)) return undefined;
  if (ip.version === 4) return ip.proto === IPPROTO_IPIP ? 28 : undefined;
  return frame[20] === IPPROTO_DSTOPTS ? 64 : undefined;
}

/** An outer header the stack itself would take: a whole datagram, whose
 *  length fits the frame and covers an inner IP header, with (IPv4) a
 *  correct header checksum. */
function outerAcceptable(frame: Buffer, outer: number): boolean {
  const ip = ipFields(frame)!;
  if (ip.version === 6) {
    const payload = frame.readUInt16BE(18);
    return payload >= outer && payload <= frame.length - P.ETH_HLEN - 40; // the option and an inner IPv6 header
  }
  const total = frame.readUInt16BE(16);
  return !ip.fragment && total >= outer + 20 && total <= frame.length - P.ETH_HLEN && P.ipv4HeaderChecksumOk(frame);
}

function tcIngressProperty(input: Buffer, r: ProgTestRunResult): string | undefined {
  if (r.retval !== TC_ACT_OK && r.retval !== TC_ACT_SHOT) return `action ${r.retval}`;
  const same = r.packet.equals(input);
  const outer = tunnelToNode(input);
  if (outer === undefined) return same && r.retval === TC_ACT_OK ? undefined : 'not a tunnel to this node, yet changed or dropped';
  if (same || r.retval === TC_ACT_SHOT) return undefined;
  // Decapsulation: the inner packet behind the same Ethernet header, not a byte else.
  const inner = Buffer.concat([input.subarray(0, P.ETH_HLEN), input.subarray(P.ETH_HLEN + outer)]);
  if (!r.packet.equals(inner)) return 'changed other than by removing the outer header';
  if (!outerAcceptable(input, outer)) return 'decapsulated behind an outer header the stack would refuse';
  // An error tunnelled here makes no flow (kpr_edge_icmp.h).
  const backend = ipFields(r.packet);
  if (backend && withPorts(backend.proto)) tunnelledBackends.add(backend.dst);
  return outputFaults(input, r.packet, false);
}

/** Which way kpr_xdp_lb sent a frame it changed; for a later fragment of a
 *  datagram the fuzzer cut, whether it followed its first or was dropped. */
function xdpPath(input: Buffer, r: ProgTestRunResult, piece?: LaterPiece): string | undefined {
  if (piece && laterBalanced(ipFields(input))) return r.retval === XDP_DROP ? 'later fragment dropped' : r.packet.equals(input) ? 'later fragment passed' : 'later fragment followed';
  if (r.retval === XDP_DROP || r.packet.equals(input)) return undefined;
  if (errorQuote(input)) {
    if (r.retval === XDP_PASS) return 'error to a local backend';
    if (r.packet.length > input.length) return 'error tunnelled';
    return SNAT_SOURCES.has(ipFields(r.packet)!.dst) ? 'error to a snat backend' : 'error to a client';
  }
  if (r.retval === XDP_PASS) return 'to a local backend';
  if (r.packet.length > input.length) return 'tunnelled';
  if (isAnswer(input, r.packet)) return 'answered';
  return SNAT_SOURCES.has(ipFields(input)!.src) ? 'snat reply' : 'snat';
}

/** ICMP errors among what the tc programs changed: opened from a tunnel, or translated. */
function tcErrorPath(input: Buffer, r: ProgTestRunResult): string | undefined {
  const out = ipFields(r.packet);
  if (r.retval !== TC_ACT_OK || r.packet.equals(input) || !out) return undefined;
  if (r.packet.length < input.length) return out.proto === IPPROTO_ICMP || out.proto === IPPROTO_ICMPV6 ? 'error opened' : undefined;
  return errorQuote(input) ? 'error translated' : undefined;
}

interface FuzzRun {
  failures: string[];
  /** How often each action left the frame changed or not: proof the paths were reached. */
  outcomes: Record<string, number>;
}

const ACTION_NAMES: Record<string, Record<number, string>> = {
  xdp: { 0: 'ABORTED', 1: 'DROP', 2: 'PASS', 3: 'TX', 4: 'REDIRECT' },
  tc: { 0: 'OK', 2: 'SHOT' },
};

/** The kernel's test run of a tc program wants a whole fixed IP header
 * behind an IP Ethernet type (EINVAL otherwise), though a real device could
 * deliver less: such frames are counted, and reach XDP only. */
function tcCanRun(frame: Buffer): boolean {
  const type = frame.readUInt16BE(12);
  if (type === P.ETH_P_IP) return frame.length >= P.ETH_HLEN + 20;
  return type !== P.ETH_P_IPV6 || frame.length >= P.ETH_HLEN + 40;
}

/** Frames per BPF_PROG_TEST_RUN batch: one call into the addon for each. */
const BATCH = 1000;

type Check = (input: Buffer, r: ProgTestRunResult, piece?: LaterPiece) => string | undefined;

/** COUNT frames from the seed through run, each checked by property; path
 *  names what happened to a frame, to show every path was taken. A later
 *  fragment of a datagram the fuzzer cut is checked against its first. */
function fuzz(kind: 'xdp' | 'tc', seed: number, run: (pkts: Buffer[]) => ProgTestRunResult[], property: Check, path?: Check): FuzzRun {
  const frames = fuzzFrames(new Rng(seed), TARGETS);
  const firsts = new Map<number, FirstFragment>();
  const result: FuzzRun = { failures: [], outcomes: {} };
  const count = (key: string) => (result.outcomes[key] = (result.outcomes[key] ?? 0) + 1);
  for (let n = 0, tested = 0; tested < COUNT; ) {
    const batch: { n: number; f: FuzzFrame }[] = [];
    for (; batch.length < Math.min(BATCH, COUNT - tested); n++) {
      const f = frames.next().value;
      if (kind === 'tc' && !tcCanRun(f.frame)) count('refused');
      else batch.push({ n, f });
    }
    tested += batch.length;
    run(batch.map((b) => b.f.frame)).forEach((r, i) => {
      const { n: index, f } = batch[i];
      const pkt = f.frame;
      count(`${ACTION_NAMES[kind][r.retval] ?? r.retval}/${r.packet.equals(pkt) ? 'same' : 'changed'}`);
      if (f.piece?.first) firsts.set(f.piece.datagram, { input: pkt, r });
      // Pieces in a tunnel are whole packets to the program: only a bare later fragment follows its first.
      const piece = f.piece && !f.piece.first && ipFields(pkt)?.later ? { first: firsts.get(f.piece.datagram) } : undefined;
      const way = path?.(pkt, r, piece);
      if (way) count(way);
      if (way && ipFields(pkt)?.proto === P.IPPROTO_SCTP) count(`SCTP ${way}`);
      const failure = property(pkt, r, piece);
      if (failure && result.failures.length < MAX_REPORTED) {
        result.failures.push(`seed ${seed} frame #${index}: ${failure}\n  in  ${pkt.toString('hex')}\n  out ${r.packet.toString('hex')} (action ${r.retval})`);
      }
    });
  }
  console.log(`${kind} seed ${seed}: ${COUNT} frames run ${JSON.stringify(result.outcomes)}`);
  return result;
}

describe(`packet fuzzing through BPF_PROG_TEST_RUN (seed ${SEED}, ${COUNT} frames per program)`, () => {
  let root: BpfRoot;
  let fx: EdgeFixture;
  const runXdp = (pkt: Buffer) => fx.dp.progTestRun(PROG, pkt, 1, { netns: fx.netns, ifindex: fx.ifindex });

  /** Clients' clean packets to every frontend, so that snat and reverse NAT
   *  state exists for the replies the fuzzer sends. */
  function primeFlows(): void {
    for (const { fe } of SERVICES) {
      for (const client of TARGETS.clients.filter((c) => c.includes(':') === fe.addr.includes(':'))) {
        for (const sport of TARGETS.clientPorts) {
          const flow = { src: client, dst: fe.addr, sport, dport: fe.port };
          const out = runXdp({ TCP: P.tcpFrame, UDP: P.udpFrame, SCTP: P.sctpFrame }[fe.proto](flow));
          const ip = ipFields(out.packet);
          if (ip && NODES.has(ip.src) && SNAT_SOURCES.has(ip.dst)) TARGETS.snatPorts.push(P.ports(out.packet).sport);
        }
      }
    }
    // Once each, sorted: the seeded picks do not depend on the order the ports came in.
    TARGETS.snatPorts = [...new Set(TARGETS.snatPorts)].sort((a, b) => a - b);
  }

  beforeAll(() => {
    assertPrivileged();
    root = openBpfRoot('fuzz');
    fx = createEdgeFixture(root, { maglevTableSize: M });
    SERVICES.forEach((s, i) => {
      const svcId = i + 1;
      const backends = s.backends.map((b, j) => ({ ...b, id: svcId * 10 + j, svcId }));
      fx.dp.updateBackends(backends);
      if (backends.length) fx.dp.setMaglevTable(svcId, Array.from({ length: M }, (_, k) => backends[k % backends.length].id));
      fx.dp.updateFrontends([{ ...s.fe, svcId, count: backends.length, affinityTimeout: 0, sourceRanges: false, mode: 'dsr', algorithm: 'maglev', noBackend: 'reject', ...s.extra }]);
      if (s.extra?.sourceRanges) fx.dp.updateSourceRanges([{ svcId, cidr: '198.19.5.0/24' }]);
    });
    primeFlows();
    expect(TARGETS.snatPorts.length).toBeGreaterThan(0);
  });
  afterAll(() => {
    try {
      fx?.destroy();
    } finally {
      root?.destroy();
    }
  });

  test('kpr_xdp_lb: frames not for a frontend pass unchanged; rewritten, tunnelled, answered and translated frames verify', () => {
    const r = fuzz('xdp', SEED, (pkts) => fx.dp.progTestRunBatch(PROG, pkts, { netns: fx.netns, ifindex: fx.ifindex }), xdpProperty, xdpPath);
    expect(r.failures).toEqual([]);
    // Every way was taken: untouched, dropped, and each way a frame is changed.
    const errorPaths = ['error to a local backend', 'error tunnelled', 'error to a snat backend', 'error to a client'];
    const fragmentPaths = ['later fragment followed', 'later fragment dropped', 'later fragment passed'];
    // The rarest way is taken by about 1 frame in 1000, SCTP's by 1 in 2000.
    for (const key of ['PASS/same', 'DROP/same', 'to a local backend', 'tunnelled', 'answered', 'snat', 'snat reply', ...errorPaths, ...fragmentPaths]) {
      expect(r.outcomes[key]).toBeGreaterThan(COUNT / 2000);
    }
    for (const key of ['to a local backend', 'tunnelled', 'answered', 'snat', 'snat reply']) expect(r.outcomes[`SCTP ${key}`]).toBeGreaterThan(COUNT / 5000);
  }, TIMEOUT_MS);

  test('kpr_tc_dsr_ingress: only kpr tunnels to this node are opened, to exactly their inner packet', () => {
    const r = fuzz('tc', SEED + 1, (pkts) => fx.dp.progTestRunBatch(TC_INGRESS, pkts), tcIngressProperty, tcErrorPath);
    expect(r.failures).toEqual([]);
    for (const key of ['OK/same', 'OK/changed', 'SHOT/changed', 'error opened']) expect(r.outcomes[key]).toBeGreaterThan(COUNT / 1000);
  }, TIMEOUT_MS);

  test("kpr_tc_dsr_egress: only local backends' replies and errors about their clients' packets are rewritten, and they verify", () => {
    primeFlows();
    const path = (input: Buffer, r: ProgTestRunResult, piece?: LaterPiece) => (piece && !r.packet.equals(input) ? 'later fragment followed' : tcErrorPath(input, r));
    const r = fuzz('tc', SEED + 2, (pkts) => fx.dp.progTestRunBatch(TC_EGRESS, pkts), tcEgressProperty, path);
    expect(r.failures).toEqual([]);
    for (const key of ['OK/same', 'OK/changed', 'error translated', 'later fragment followed']) expect(r.outcomes[key]).toBeGreaterThan(COUNT / 1000);
  }, TIMEOUT_MS);

  test("kpr_tc_pod_ingress: only pods' packets for a frontend of the pods' view change, in their destination alone, and they verify", () => {
    // Every service in the pods' view too, on service ids of its own: the edge view's are untouched.
    SERVICES.forEach((s, i) => {
      const svcId = SERVICES.length + i + 1;
      const backends = s.backends.map((b, j) => ({ addr: b.addr, port: b.port, id: svcId * 10 + j, svcId }));
      fx.dp.updateBackends(backends);
      if (backends.length) fx.dp.setMaglevTable(svcId, Array.from({ length: M }, (_, k) => backends[k % backends.length].id));
      fx.dp.updateFrontends([{ ...s.fe, svcId, count: backends.length, affinityTimeout: 0, sourceRanges: false, mode: 'snat', algorithm: 'maglev', noBackend: 'drop', scope: 'pod' }]);
    });
    const path = (input: Buffer, r: ProgTestRunResult, piece?: LaterPiece) => {
      if (piece && laterBalanced(ipFields(input))) return r.packet.equals(input) ? undefined : 'later fragment followed';
      if (r.retval === TC_ACT_SHOT) return 'dropped';
      return r.packet.equals(input) ? undefined : 'to a backend';
    };
    const r = fuzz('tc', SEED + 3, (pkts) => fx.dp.progTestRunBatch(POD_INGRESS, pkts), podIngressProperty, path);
    expect(r.failures).toEqual([]);
    for (const key of ['OK/same', 'to a backend', 'dropped', 'later fragment followed']) expect(r.outcomes[key]).toBeGreaterThan(COUNT / 2000);
    expect(r.outcomes['SCTP to a backend']).toBeGreaterThan(COUNT / 5000);
  }, TIMEOUT_MS);
});
