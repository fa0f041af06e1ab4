// Packets built byte by byte for BPF_PROG_TEST_RUN, and checks of what comes
// back, written from the RFCs (791, 768, 793/9293, 8200, 1071, 9260) rather
// than with any packet library, so a shared misunderstanding cannot hide a bug.
import { sctpChecksum } from './crc32c';

export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_ARP = 0x0806;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;
export const IPPROTO_FRAGMENT = 44;
export const ETH_HLEN = 14;
const IPV4_MF = 0x2000;
const IPV6_FRAG_HLEN = 8;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export function ipv4Bytes(addr: string): Buffer {
  const parts = addr.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new Error(`bad IPv4 address ${addr}`);
  return Buffer.from(parts);
}

export function ipv6Bytes(addr: string): Buffer {
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const words = (s: string | undefined) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const t = words(tail);
  const all = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  if (all.length !== 8 || all.some((w) => !(w >= 0 && w <= 0xffff))) throw new Error(`bad IPv6 address ${addr}`);
  const out = Buffer.alloc(16);
  all.forEach((w, i) => out.writeUInt16BE(w, 2 * i));
  return out;
}

export function addrBytes(addr: string): Buffer {
  return addr.includes(':') ? ipv6Bytes(addr) : ipv4Bytes(addr);
}

export function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((b) => parseInt(b, 16)));
}

/** RFC 1071: one's complement of the one's complement sum of 16-bit words. */
export function onesSum(buf: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < buf.length; i += 2) sum += buf.readUInt16BE(i);
  if (buf.length % 2) sum += buf[buf.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

export function internetChecksum(buf: Buffer, initial = 0): number {
  return ~onesSum(buf, initial) & 0xffff;
}

/** The TCP/UDP pseudo header: RFC 793 (IPv4, 12 bytes) or RFC 8200 8.1 (IPv6, 40 bytes). */
export function pseudoHeader(src: Buffer, dst: Buffer, proto: number, length: number): Buffer {
  if (src.length === 4) {
    const b = Buffer.alloc(12);
    src.copy(b, 0);
    dst.copy(b, 4);
    b[9] = proto;
    b.writeUInt16BE(length, 10);
    return b;
  }
  const b = Buffer.alloc(40);
  src.copy(b, 0);
  dst.copy(b, 16);
  b.writeUInt32BE(length, 32);
  b[39] = proto;
  return b;
}

export function ethernet(dst: string, src: string, type: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(ETH_HLEN);
  macBytes(dst).copy(h, 0);
  macBytes(src).copy(h, 6);
  h.writeUInt16BE(type, 12);
  return Buffer.concat([h, payload]);
}

export interface TcpOptions {
  sport: number;
  dport: number;
  seq?: number;
  ack?: number;
  flags?: number;
  payload?: Buffer;
  /** Header length in 32-bit words; default 5 (no options), larger pads with NOPs. */
  doff?: number;
}

/** A TCP segment with its checksum over the pseudo header of src -> dst. */
export function tcp(src: Buffer, dst: Buffer, o: TcpOptions): Buffer {
  const doff = o.doff ?? 5;
  const hlen = Math.max(doff, 5) * 4;
  const h = Buffer.alloc(hlen, 1); // option bytes: NOP
  h.writeUInt16BE(o.sport, 0);
  h.writeUInt16BE(o.dport, 2);
  h.writeUInt32BE(o.seq ?? 1000, 4);
  h.writeUInt32BE(o.ack ?? 0, 8);
  h[12] = doff << 4;
  h[13] = o.flags ?? TCP_SYN;
  h.writeUInt16BE(65535, 14);
  h.writeUInt16BE(0, 16);
  h.writeUInt16BE(0, 18);
  const seg = Buffer.concat([h, o.payload ?? Buffer.alloc(0)]);
  seg.writeUInt16BE(internetChecksum(seg, onesSum(pseudoHeader(src, dst, IPPROTO_TCP, seg.length))), 16);
  return seg;
}

/** A UDP datagram; zeroChecksum sends "no checksum" (IPv4 only, RFC 768). */
export function udp(src: Buffer, dst: Buffer, sport: number, dport: number, payload: Buffer, zeroChecksum = false): Buffer {
  const d = Buffer.concat([Buffer.alloc(8), payload]);
  d.writeUInt16BE(sport, 0);
  d.writeUInt16BE(dport, 2);
  d.writeUInt16BE(d.length, 4);
  if (!zeroChecksum) {
    const c = internetChecksum(d, onesSum(pseudoHeader(src, dst, IPPROTO_UDP, d.length)));
    d.writeUInt16BE(c === 0 ? 0xffff : c, 6);
  }
  return d;
}

/** An SCTP INIT chunk (RFC 9260 3.3.2) with no parameters: the initiate
 *  tag doubles as the initial TSN. */
export function sctpInit(tag = 0x01020304): Buffer {
  const c = Buffer.alloc(20);
  c[0] = 1;
  c.writeUInt16BE(c.length, 2);
  c.writeUInt32BE(tag, 4);
  c.writeUInt32BE(65535, 8);
  c.writeUInt16BE(10, 12);
  c.writeUInt16BE(10, 14);
  c.writeUInt32BE(tag, 16);
  return c;
}

/** An SCTP packet (RFC 9260 3.1): ports, verification tag, the CRC32c of
 *  the whole packet (no pseudo header), then the chunks. */
export function sctp(sport: number, dport: number, chunks: Buffer = sctpInit(), vtag = 0): Buffer {
  const p = Buffer.concat([Buffer.alloc(12), chunks]);
  p.writeUInt16BE(sport, 0);
  p.writeUInt16BE(dport, 2);
  p.writeUInt32BE(vtag, 4);
  p.writeUInt32LE(sctpChecksum(p), 8);
  return p;
}

export interface Ipv4Options {
  src: string;
  dst: string;
  proto: number;
  payload: Buffer;
  ttl?: number;
  tos?: number;
  id?: number;
  /** Flags and fragment offset field as on the wire (DF = 0x4000, MF = 0x2000). */
  fragField?: number;
  /** IP options, padded with NOPs to a multiple of 4 bytes. */
  options?: Buffer;
}

export function ipv4(o: Ipv4Options): Buffer {
  const opts = o.options ?? Buffer.alloc(0);
  const optLen = Math.ceil(opts.length / 4) * 4;
  const h = Buffer.alloc(20 + optLen, 1);
  h[0] = 0x40 | (h.length / 4);
  h[1] = o.tos ?? 0;
  h.writeUInt16BE(h.length + o.payload.length, 2);
  h.writeUInt16BE(o.id ?? 0x1234, 4);
  h.writeUInt16BE(o.fragField ?? 0x4000, 6);
  h[8] = o.ttl ?? 64;
  h[9] = o.proto;
  h.writeUInt16BE(0, 10);
  ipv4Bytes(o.src).copy(h, 12);
  ipv4Bytes(o.dst).copy(h, 16);
  opts.copy(h, 20);
  h.writeUInt16BE(internetChecksum(h), 10);
  return Buffer.concat([h, o.payload]);
}

export interface Ipv6Options {
  src: string;
  dst: string;
  nextHeader: number;
  payload: Buffer;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
}

export function ipv6(o: Ipv6Options): Buffer {
  const h = Buffer.alloc(40);
  h.writeUInt32BE(((6 << 28) | ((o.trafficClass ?? 0) << 20) | (o.flowLabel ?? 0)) >>> 0, 0);
  h.writeUInt16BE(o.payload.length, 4);
  h[6] = o.nextHeader;
  h[7] = o.hopLimit ?? 64;
  ipv6Bytes(o.src).copy(h, 8);
  ipv6Bytes(o.dst).copy(h, 24);
  return Buffer.concat([h, o.payload]);
}

export const CLIENT_MAC = '02:00:00:00:c1:01';
export const NODE_MAC = '02:00:00:00:a0:01';

export interface Flow {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** A whole frame client -> dst: Ethernet, IPv4 or IPv6 by address, TCP. */
export function tcpFrame(f: Flow, tcpOpts: Partial<TcpOptions> = {}, ip4: Partial<Ipv4Options> = {}): Buffer {
  const s = addrBytes(f.src);
  const d = addrBytes(f.dst);
  const seg = tcp(s, d, { sport: f.sport, dport: f.dport, ...tcpOpts });
  return s.length === 4
    ? ethernet(NODE_MAC, CLIENT_MAC, ETH_P_IP, ipv4({ src: f.src, dst: f.dst, proto: IPPROTO_TCP, payload: seg, ...ip4 }))
    : ethernet(NODE_MAC, CLIENT_MAC, ETH_P_IPV6, ipv6({ src: f.src, dst: f.dst, nextHeader: IPPROTO_TCP, payload: seg, flowLabel: 0x12345 }));
}

export function udpFrame(f: Flow, payload = Buffer.from('kpr-edge'), zeroChecksum = false): Buffer {
  const s = addrBytes(f.src);
  const d = addrBytes(f.dst);
  const dg = udp(s, d, f.sport, f.dport, payload, zeroChecksum);
  return s.length === 4
    ? ethernet(NODE_MAC, CLIENT_MAC, ETH_P_IP, ipv4({ src: f.src, dst: f.dst, proto: IPPROTO_UDP, payload: dg }))
    : ethernet(NODE_MAC, CLIENT_MAC, ETH_P_IPV6, ipv6({ src: f.src, dst: f.dst, nextHeader: IPPROTO_UDP, payload: dg, flowLabel: 0xabcde }));
}

export function sctpFrame(f: Flow, chunks: Buffer = sctpInit(), vtag = 0): Buffer {
  const pkt = sctp(f.sport, f.dport, chunks, vtag);
  return f.src.includes(':')
    ? ethernet(NODE_MAC, CLIENT_MAC, ETH_P_IPV6, ipv6({ src: f.src, dst: f.dst, nextHeader: IPPROTO_SCTP, payload: pkt, flowLabel: 0x5c7 }))
    : ethernet(NODE_MAC, CLIENT_MAC, ETH_P_IP, ipv4({ src: f.src, dst: f.dst, proto: IPPROTO_SCTP, payload: pkt }));
}

/** The IP header of a frame as the tests read it back. */
export interface IpView {
  version: number;
  headerLen: number;
  totalLen: number;
  proto: number;
  src: Buffer;
  dst: Buffer;
}

export function ipView(frame: Buffer, off = ETH_HLEN): IpView {
  const version = frame[off] >> 4;
  if (version === 4) {
    const headerLen = (frame[off] & 0xf) * 4;
    return { version, headerLen, totalLen: frame.readUInt16BE(off + 2), proto: frame[off + 9], src: frame.subarray(off + 12, off + 16), dst: frame.subarray(off + 16, off + 20) };
  }
  return { version, headerLen: 40, totalLen: 40 + frame.readUInt16BE(off + 4), proto: frame[off + 6], src: frame.subarray(off + 8, off + 24), dst: frame.subarray(off + 24, off + 40) };
}

/** RFC 1071 4.1: a header with a correct checksum sums to all ones. */
export function ipv4HeaderChecksumOk(frame: Buffer, off = ETH_HLEN): boolean {
  const hl = (frame[off] & 0xf) * 4;
  return internetChecksum(frame.subarray(off, off + hl)) === 0;
}

/** Whether the TCP/UDP/SCTP checksum of the packet at off verifies (a zero UDP/IPv4 checksum counts as none). */
export function l4ChecksumOk(frame: Buffer, off = ETH_HLEN): boolean {
  const ip = ipView(frame, off);
  const seg = frame.subarray(off + ip.headerLen, off + ip.totalLen);
  if (ip.proto === IPPROTO_SCTP) return seg.readUInt32LE(8) === sctpChecksum(seg);
  if (ip.proto === IPPROTO_UDP && ip.version === 4 && seg.readUInt16BE(6) === 0) return true;
  return internetChecksum(seg, onesSum(pseudoHeader(ip.src, ip.dst, ip.proto, seg.length))) === 0;
}

/** Where the L4 header of the packet at off starts: behind IPv6's Fragment header, if it has one. */
function l4Start(frame: Buffer, off: number): number {
  const ip = ipView(frame, off);
  return off + ip.headerLen + (ip.version === 6 && ip.proto === IPPROTO_FRAGMENT ? IPV6_FRAG_HLEN : 0);
}

export function ports(frame: Buffer, off = ETH_HLEN): { sport: number; dport: number } {
  const at = l4Start(frame, off);
  return { sport: frame.readUInt16BE(at), dport: frame.readUInt16BE(at + 2) };
}

export function formatAddr(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const words: string[] = [];
  for (let i = 0; i < 16; i += 2) words.push(b.readUInt16BE(i).toString(16));
  return words.join(':');
}

/** kpr's DSR tunnel around an IP packet (no Ethernet), as
 *  bpf/include/kpr_edge_encap.h specifies it: IPIP with an 8-byte IPv4 option
 *  (type 0x9e: frontend port, address), or IP6IP6 behind a 24-byte
 *  destination options header (option 0x1e: address, port; then PadN). */
export function dsrTunnel(inner: Buffer, outerSrc: string, outerDst: string, fe: { addr: string; port: number }): Buffer {
  if (outerSrc.includes(':')) {
    const h = Buffer.alloc(64);
    inner.copy(h, 0, 0, 4); // version, traffic class, flow label of the inner packet
    h.writeUInt16BE(inner.length + 24, 4);
    h[6] = 60; // destination options
    h[7] = 64;
    ipv6Bytes(outerSrc).copy(h, 8);
    ipv6Bytes(outerDst).copy(h, 24);
    h[40] = 41; // next: IPv6
    h[41] = 2; // (2 + 1) * 8 bytes
    h[42] = 0x1e;
    h[43] = 18;
    ipv6Bytes(fe.addr).copy(h, 44);
    h.writeUInt16BE(fe.port, 60);
    h[62] = 1; // PadN, no data
    h[63] = 0;
    return Buffer.concat([h, inner]);
  }
  const h = Buffer.alloc(28);
  h[0] = 0x47;
  h[1] = inner[1];
  h.writeUInt16BE(inner.length + 28, 2);
  h[8] = 64;
  h[9] = 4; // IPIP
  ipv4Bytes(outerSrc).copy(h, 12);
  ipv4Bytes(outerDst).copy(h, 16);
  h[20] = 0x9e;
  h[21] = 8;
  h.writeUInt16BE(fe.port, 22);
  ipv4Bytes(fe.addr).copy(h, 24);
  h.writeUInt16BE(internetChecksum(h), 10);
  return Buffer.concat([h, inner]);
}

/** An ICMP error (RFC 792) or ICMPv6 error (RFC 4443) from src to dst
 *  quoting the IP packet `quoted` (as much of it as the caller passes):
 *  type, code, and the 4 bytes after the checksum (info: the next-hop MTU of
 *  a fragmentation needed or packet too big). An IP packet, no Ethernet. */
export function icmpError(src: string, dst: string, type: number, code: number, quoted: Buffer, info = 0): Buffer {
  const msg = Buffer.concat([Buffer.alloc(8), quoted]);
  msg[0] = type;
  msg[1] = code;
  msg.writeUInt32BE(info >>> 0, 4);
  if (!src.includes(':')) {
    msg.writeUInt16BE(internetChecksum(msg), 2);
    return ipv4({ src, dst, proto: 1, payload: msg, id: 0, fragField: 0 });
  }
  msg.writeUInt16BE(internetChecksum(msg, onesSum(pseudoHeader(ipv6Bytes(src), ipv6Bytes(dst), 58, msg.length))), 2);
  return ipv6({ src, dst, nextHeader: 58, payload: msg });
}

/** The IP packet of a frame, or its first len bytes: what an error quotes. */
export function quoteOf(frame: Buffer, len?: number): Buffer {
  return frame.subarray(ETH_HLEN, len === undefined ? undefined : ETH_HLEN + len);
}

const macText = (m: Buffer) => [...m].map((b) => b.toString(16).padStart(2, '0')).join(':');

/** The error kpr answers frame with: from its destination to its source and
 *  back to the MAC it came from, quoting its IP header (IPv4: with options;
 *  IPv6: with a first fragment's Fragment header) and the 8 bytes after it;
 *  type and code by family, [type, code]. */
export function icmpAnswer(frame: Buffer, v4: [number, number], v6: [number, number], info = 0): Buffer {
  const ip = ipView(frame);
  const [type, code] = ip.version === 4 ? v4 : v6;
  const error = icmpError(formatAddr(ip.dst), formatAddr(ip.src), type, code, quoteOf(frame, l4Start(frame, ETH_HLEN) - ETH_HLEN + 8), info);
  return ethernet(macText(frame.subarray(6, 12)), macText(frame.subarray(0, 6)), ip.version === 4 ? ETH_P_IP : ETH_P_IPV6, error);
}

/** The ICMP port unreachable that answers frame, a UDP datagram (RFC 792:
 *  type 3 code 3; RFC 4443: type 1 code 4). */
export function portUnreachable(frame: Buffer): Buffer {
  return icmpAnswer(frame, [3, 3], [1, 4]);
}

/** The fragmentation needed (RFC 1191: type 3 code 4) or packet too big
 *  (RFC 8201: type 2) that tells frame's sender the MTU it has. */
export function tooBig(frame: Buffer, mtu: number): Buffer {
  return icmpAnswer(frame, [3, 4], [2, 0], mtu);
}

/** A datagram's fragments as a sender cuts them (RFC 791 3.2, RFC 8200 4.5):
 *  frame's IP packet with its payload in pieces of at most `chunk` bytes (a
 *  multiple of 8). IPv4 repeats the header, options and all (as it must
 *  options with the copied flag, such as kpr's DSR option), with the offset,
 *  MF and the identification `id`; IPv6 puts a Fragment header with `id`
 *  behind the fixed header, before any extension header. */
export function fragmentFrame(frame: Buffer, chunk: number, id: number): Buffer[] {
  if (chunk % 8 !== 0 || chunk <= 0) throw new Error(`fragment size ${chunk} is not a positive multiple of 8`);
  const ip = ipView(frame);
  const eth = frame.subarray(0, ETH_HLEN);
  const header = frame.subarray(ETH_HLEN, ETH_HLEN + ip.headerLen);
  const payload = frame.subarray(ETH_HLEN + ip.headerLen, ETH_HLEN + ip.totalLen);
  const out: Buffer[] = [];
  for (let off = 0; off < payload.length; off += chunk) {
    const piece = payload.subarray(off, off + chunk);
    const more = off + chunk < payload.length;
    if (ip.version === 4) {
      const h = Buffer.from(header);
      h.writeUInt16BE(h.length + piece.length, 2);
      h.writeUInt16BE(id & 0xffff, 4);
      h.writeUInt16BE((more ? IPV4_MF : 0) | (off / 8), 6);
      h.writeUInt16BE(0, 10);
      h.writeUInt16BE(internetChecksum(h), 10);
      out.push(Buffer.concat([eth, h, piece]));
    } else {
      const h = Buffer.from(header);
      const fh = Buffer.alloc(IPV6_FRAG_HLEN);
      fh[0] = header[6];
      fh.writeUInt16BE(off | (more ? 1 : 0), 2);
      fh.writeUInt32BE(id >>> 0, 4);
      h[6] = IPPROTO_FRAGMENT;
      h.writeUInt16BE(IPV6_FRAG_HLEN + piece.length, 4);
      out.push(Buffer.concat([eth, h, fh, piece]));
    }
  }
  return out;
}

/** A fragment's place in its datagram, read back: the identification,
 *  offset in bytes, more to come, and where its payload starts. */
export function fragmentOf(frame: Buffer): { id: number; offset: number; more: boolean; payloadAt: number; end: number } | undefined {
  const ip = ipView(frame);
  if (ip.version === 4) {
    const field = frame.readUInt16BE(ETH_HLEN + 6);
    if ((field & 0x3fff) === 0) return undefined;
    return { id: frame.readUInt16BE(ETH_HLEN + 4), offset: (field & 0x1fff) * 8, more: (field & IPV4_MF) !== 0, payloadAt: ETH_HLEN + ip.headerLen, end: ETH_HLEN + ip.totalLen };
  }
  if (ip.proto !== IPPROTO_FRAGMENT) return undefined;
  const fh = ETH_HLEN + 40;
  const field = frame.readUInt16BE(fh + 2);
  return { id: frame.readUInt32BE(fh + 4), offset: field & 0xfff8, more: (field & 1) !== 0, payloadAt: fh + IPV6_FRAG_HLEN, end: ETH_HLEN + ip.totalLen };
}

/** The whole datagram again, as a receiver reassembles it (RFC 815): the
 *  first fragment's Ethernet and IP header (IPv4: fragment fields cleared and
 *  its checksum recomputed; IPv6: the Fragment header removed) and the pieces
 *  in offset order. Throws unless the pieces are one datagram's, complete. */
export function reassemble(frames: Buffer[]): Buffer {
  const parts = frames.map((f) => ({ f, frag: fragmentOf(f), ip: ipView(f) }));
  const first = parts.find((p) => p.frag?.offset === 0);
  if (!first || parts.some((p) => !p.frag)) throw new Error('reassemble: not all fragments, or no first fragment');
  const same = (p: (typeof parts)[number]) => p.frag!.id === first.frag!.id && p.ip.src.equals(first.ip.src) && p.ip.dst.equals(first.ip.dst);
  if (!parts.every(same)) throw new Error('reassemble: fragments of different datagrams');
  parts.sort((a, b) => a.frag!.offset - b.frag!.offset);
  let at = 0;
  for (const p of parts) {
    if (p.frag!.offset !== at) throw new Error(`reassemble: a hole at ${at}`);
    at += p.frag!.end - p.frag!.payloadAt;
  }
  if (parts[parts.length - 1].frag!.more) throw new Error('reassemble: the last fragment is missing');
  const payload = Buffer.concat(parts.map((p) => p.f.subarray(p.frag!.payloadAt, p.frag!.end)));
  const f = first.f;
  if (first.ip.version === 4) {
    const h = Buffer.from(f.subarray(ETH_HLEN, ETH_HLEN + first.ip.headerLen));
    h.writeUInt16BE(h.length + payload.length, 2);
    h.writeUInt16BE(0, 6);
    h.writeUInt16BE(0, 10);
    h.writeUInt16BE(internetChecksum(h), 10);
    return Buffer.concat([f.subarray(0, ETH_HLEN), h, payload]);
  }
  const h = Buffer.from(f.subarray(ETH_HLEN, ETH_HLEN + 40));
  h[6] = f[ETH_HLEN + 40];
  h.writeUInt16BE(payload.length, 4);
  return Buffer.concat([f.subarray(0, ETH_HLEN), h, payload]);
}
