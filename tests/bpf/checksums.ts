// Every checksum a frame carries, found by walking it as a receiving stack
// would (RFC 791, 8200, 768, 793, 792, 4443, 2003, 9260): the IPv4 header,
// TCP, UDP, ICMP and ICMPv6 with their pseudo headers, SCTP's CRC32c, and the
// same again inside IP-in-IP tunnels at any depth and inside the packet an
// ICMP error quotes: its IPv4 header, and its TCP/UDP checksum when the quote
// holds the whole datagram (a quote cut short says nothing about the rest).
// A quoted SCTP checksum is no receiver's business (it finds the association
// by ports and verification tag), and kpr leaves it as it was. One walk
// serves both to verify a frame a program left and to give a fuzzed frame
// correct checksums before it is sent.
import { sctpChecksum } from './crc32c';
import { ETH_HLEN, ETH_P_IP, ETH_P_IPV6, IPPROTO_FRAGMENT, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, onesSum, pseudoHeader } from './packets';

export { IPPROTO_FRAGMENT };

export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const IPPROTO_ICMP = 1;
export const IPPROTO_IPIP = 4;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_DSTOPTS = 60;

/** One checksum: the 16-bit field at `field` covers [start, end) plus the
 *  pseudo header's partial sum; or, for SCTP, the 32-bit CRC32c at `field`
 *  covers [start, end) alone. */
export interface ChecksumSite {
  /** What carries it, for a report: IPv4 header, TCP, UDP, SCTP, ICMP or ICMPv6. */
  layer: string;
  depth: number;
  field: number;
  start: number;
  end: number;
  pseudo: number;
  /** UDP over IPv4: zero means "no checksum" (RFC 768). */
  zeroIsNone: boolean;
  /** UDP: a computed zero is sent as all ones. */
  zeroAsOnes: boolean;
}

export interface FrameWalk {
  sites: ChecksumSite[];
  /** IP headers or lengths that claim more than their container holds. */
  lengthFaults: string[];
  /** Offsets where a header starts or ends: where truncation is interesting. */
  boundaries: number[];
}

const MAX_DEPTH = 4;

/** ICMP types that quote a packet: destination unreachable, time exceeded,
 *  parameter problem (and IPv4's source quench and redirect). */
export const ICMP_ERROR_TYPES = new Set([3, 4, 5, 11, 12]);
/** ICMPv6: destination unreachable, packet too big, time exceeded, parameter problem. */
export const ICMPV6_ERROR_TYPES = new Set([1, 2, 3, 4]);

/** Walks an Ethernet frame (VLAN tags allowed) down to its innermost L4 headers. */
export function walkFrame(frame: Buffer): FrameWalk {
  const w: FrameWalk = { sites: [], lengthFaults: [], boundaries: [ETH_HLEN] };
  let off = 12;
  let type = frame.length >= off + 2 ? frame.readUInt16BE(off) : 0;
  while ((type === ETH_P_8021Q || type === ETH_P_8021AD) && frame.length >= off + 6) {
    off += 4;
    w.boundaries.push(off + 2);
    type = frame.readUInt16BE(off);
  }
  if (type === ETH_P_IP) walkIpv4(frame, off + 2, frame.length, 0, w);
  else if (type === ETH_P_IPV6) walkIpv6(frame, off + 2, frame.length, 0, w);
  return w;
}

function where(layer: string, depth: number, off: number): string {
  return `${depth ? `inner(${depth}) ` : ''}${layer} at ${off}`;
}

/** A quoted packet (inside an ICMP error) may be cut short: what it lacks is no fault. */
function lengthFault(w: FrameWalk, quoted: boolean, fault: string): void {
  if (!quoted) w.lengthFaults.push(fault);
}

function walkIpv4(b: Buffer, off: number, end: number, depth: number, w: FrameWalk, quoted = false): void {
  if (off + 20 > end || b[off] >> 4 !== 4) return;
  const hl = (b[off] & 0xf) * 4;
  const totLen = b.readUInt16BE(off + 2);
  if (hl < 20 || off + hl > end) return lengthFault(w, quoted, `${where('IPv4', depth, off)}: header length ${hl}`);
  w.boundaries.push(off + 20, off + hl);
  w.sites.push({ layer: 'IPv4 header', depth, field: off + 10, start: off, end: off + hl, pseudo: 0, zeroIsNone: false, zeroAsOnes: false });
  if (totLen < hl || off + totLen > end) return lengthFault(w, quoted, `${where('IPv4', depth, off)}: total length ${totLen}`);
  w.boundaries.push(off + totLen);
  // A fragment's L4 checksum covers the reassembled datagram, not this piece.
  if (b.readUInt16BE(off + 6) & 0x3fff) return;
  const src = b.subarray(off + 12, off + 16);
  const dst = b.subarray(off + 16, off + 20);
  walkL4(b, b[off + 9], off + hl, off + totLen, src, dst, depth, w, quoted);
}

function walkIpv6(b: Buffer, off: number, end: number, depth: number, w: FrameWalk, quoted = false): void {
  if (off + 40 > end || b[off] >> 4 !== 6) return;
  const last = off + 40 + b.readUInt16BE(off + 4);
  w.boundaries.push(off + 40);
  if (last > end) return lengthFault(w, quoted, `${where('IPv6', depth, off)}: payload length ${last - off - 40}`);
  w.boundaries.push(last);
  let next = b[off + 6];
  let at = off + 40;
  // Extension headers (RFC 8200 4): hop-by-hop, destination options, fragment.
  // A routing header would change the pseudo header's destination: not judged.
  while (next === IPPROTO_HOPOPTS || next === IPPROTO_DSTOPTS || next === IPPROTO_FRAGMENT) {
    if (at + 8 > last) return;
    const len = next === IPPROTO_FRAGMENT ? 8 : (b[at + 1] + 1) * 8;
    if (next === IPPROTO_FRAGMENT && b.readUInt16BE(at + 2) !== 0) return; // not an atomic fragment
    if (at + len > last) return;
    next = b[at];
    at += len;
    w.boundaries.push(at);
  }
  walkL4(b, next, at, last, b.subarray(off + 8, off + 24), b.subarray(off + 24, off + 40), depth, w, quoted);
}

function walkL4(b: Buffer, proto: number, start: number, end: number, src: Buffer, dst: Buffer, depth: number, w: FrameWalk, quoted = false): void {
  const len = end - start;
  const pseudo = (n: number) => onesSum(pseudoHeader(src, dst, proto, n));
  if (proto === IPPROTO_TCP && len >= 20) {
    w.boundaries.push(start + 4, start + 20, start + Math.min(len, (b[start + 12] >> 4) * 4));
    w.sites.push({ layer: 'TCP', depth, field: start + 16, start, end, pseudo: pseudo(len), zeroIsNone: false, zeroAsOnes: false });
  } else if (proto === IPPROTO_UDP && len >= 8) {
    w.boundaries.push(start + 4, start + 8);
    // The UDP length bounds what the checksum covers (RFC 768); the rest is padding.
    const ulen = b.readUInt16BE(start + 4);
    if (ulen < 8 || ulen > len) return lengthFault(w, quoted, `${where('UDP', depth, start)}: length ${ulen}`);
    w.sites.push({ layer: 'UDP', depth, field: start + 6, start, end: start + ulen, pseudo: pseudo(ulen), zeroIsNone: src.length === 4, zeroAsOnes: true });
  } else if (proto === IPPROTO_SCTP && len >= 12) {
    w.boundaries.push(start + 4, start + 12);
    if (!quoted) w.sites.push({ layer: 'SCTP', depth, field: start + 8, start, end, pseudo: 0, zeroIsNone: false, zeroAsOnes: false });
  } else if (proto === IPPROTO_ICMP && len >= 8) {
    w.boundaries.push(start + 8);
    // The quote's sites first: sealing must fix them before the ICMP checksum that covers them.
    if (depth < MAX_DEPTH && ICMP_ERROR_TYPES.has(b[start])) walkIpv4(b, start + 8, end, depth + 1, w, true);
    w.sites.push({ layer: 'ICMP', depth, field: start + 2, start, end, pseudo: 0, zeroIsNone: false, zeroAsOnes: false });
  } else if (proto === IPPROTO_ICMPV6 && len >= 8) {
    w.boundaries.push(start + 8);
    if (depth < MAX_DEPTH && ICMPV6_ERROR_TYPES.has(b[start])) walkIpv6(b, start + 8, end, depth + 1, w, true);
    w.sites.push({ layer: 'ICMPv6', depth, field: start + 2, start, end, pseudo: pseudo(len), zeroIsNone: false, zeroAsOnes: false });
  } else if (depth < MAX_DEPTH && proto === IPPROTO_IPIP) {
    walkIpv4(b, start, end, depth + 1, w, quoted);
  } else if (depth < MAX_DEPTH && proto === IPPROTO_IPV6) {
    walkIpv6(b, start, end, depth + 1, w, quoted);
  }
}

const isCrc = (s: ChecksumSite) => s.layer === 'SCTP';

function siteOk(b: Buffer, s: ChecksumSite): boolean {
  if (isCrc(s)) return b.readUInt32LE(s.field) === sctpChecksum(b.subarray(s.start, s.end));
  if (s.zeroIsNone && b.readUInt16BE(s.field) === 0) return true;
  return onesSum(b.subarray(s.start, s.end), s.pseudo) === 0xffff;
}

/** What is wrong with the frame's checksums and lengths; empty when all verify. */
export function checksumFaults(frame: Buffer): string[] {
  const w = walkFrame(frame);
  return [...w.sites.filter((s) => !siteOk(frame, s)).map((s) => `${where(s.layer, s.depth, s.start)}: bad checksum`), ...w.lengthFaults];
}

/** Writes every checksum the frame carries as a correct sender would. The
 *  walk reads only lengths and addresses, which this does not change. */
export function sealChecksums(frame: Buffer): void {
  for (const s of walkFrame(frame).sites) {
    if (isCrc(s)) {
      frame.writeUInt32LE(sctpChecksum(frame.subarray(s.start, s.end)), s.field);
      continue;
    }
    if (s.zeroIsNone && frame.readUInt16BE(s.field) === 0) continue;
    frame.writeUInt16BE(0, s.field);
    const c = ~onesSum(frame.subarray(s.start, s.end), s.pseudo) & 0xffff;
    frame.writeUInt16BE(c === 0 && s.zeroAsOnes ? 0xffff : c, s.field);
  }
}
