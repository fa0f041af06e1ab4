// ICMP errors through the edge LB, packet by packet (BPF_PROG_TEST_RUN): an
// error follows the flow whose packet it quotes, translated as that flow's
// packets are, and kpr answers a packet too big for its DSR tunnel. What
// leaves is compared byte for byte with the error built afresh from the
// translated packet (packets.ts), and every checksum it carries, those of
// the quote included, must verify (checksums.ts).
import { EdgeBackend, ProgTestRunResult } from '../../lib/datapath/native';
import { checksumFaults } from './checksums';
import * as P from './packets';
import {
  CLIENT4, CLIENT6, dropCount, eachEdgeFixture, frontend, LINK_CLIENT4, LINK_CLIENT6, NODE4, NODE6, PEER4, PEER6,
  PEER_MAC, PROG, programService, TC_ACT_OK, TC_EGRESS, TC_INGRESS, VIP4, VIP6, XDP_PASS, XDP_TX,
} from './xdp_fixture';

const M = 251;
/** A router on a path, sending errors about packets it could not forward. */
const ROUTER4 = '198.19.9.1';
const ROUTER6 = 'fd00:198:18:9::1';
/** The node's address on its pods' side, the source of its own errors towards a client. */
const NODE_PODS4 = '198.18.50.254';
const NODE_PODS6 = 'fd00:198:18:50::fe';

type Family = 4 | 6;
type Kind = 'port unreachable' | 'too big' | 'time exceeded';
const TYPES: Record<Kind, Record<Family, [number, number]>> = {
  'port unreachable': { 4: [3, 3], 6: [1, 4] },
  'too big': { 4: [3, 4], 6: [2, 0] },
  'time exceeded': { 4: [11, 0], 6: [3, 0] },
};
const MTU = 1400;

const familyOf = (addr: string): Family => (addr.includes(':') ? 6 : 4);

/** An error of kind from src to dst quoting quoted, in a frame. */
function errorFrame(kind: Kind, src: string, dst: string, quoted: Buffer): Buffer {
  const [type, code] = TYPES[kind][familyOf(src)];
  const ip = P.icmpError(src, dst, type, code, quoted, kind === 'too big' ? MTU : 0);
  return P.ethernet(P.NODE_MAC, P.CLIENT_MAC, familyOf(src) === 4 ? P.ETH_P_IP : P.ETH_P_IPV6, ip);
}

/** A packet of the flow from a to b: a TCP segment carrying 1000 bytes, or a UDP datagram. */
function packet(proto: 'TCP' | 'UDP', f: P.Flow): Buffer {
  return proto === 'TCP' ? P.tcpFrame(f, { flags: P.TCP_ACK, seq: 7000, ack: 9000, payload: Buffer.alloc(1000, 0x6b) }) : P.udpFrame(f, Buffer.from('a datagram'));
}

/** How much of a packet the error quotes: all of it, its IP header and 8 bytes (RFC 792), or a router's 548 bytes (RFC 1812). */
type Quote = 'whole' | 'header + 8' | '548 bytes';
function quote(frame: Buffer, q: Quote): Buffer {
  if (q === 'whole') return P.quoteOf(frame);
  return P.quoteOf(frame, q === '548 bytes' ? 548 : P.ipView(frame).headerLen + 8);
}

describe('ICMP errors through the edge LB (BPF_PROG_TEST_RUN)', () => {
  const t = eachEdgeFixture('icmp', { maglevTableSize: M });
  const runXdp = (pkt: Buffer): ProgTestRunResult => t.fx.dp.progTestRun(PROG, pkt, 1, { netns: t.fx.netns, ifindex: t.fx.ifindex });
  const runTc = (prog: string, pkt: Buffer): ProgTestRunResult => t.fx.dp.progTestRun(prog, pkt, 1);
  const service = (vip: string, port: number, proto: 'TCP' | 'UDP', mode: 'dsr' | 'snat', backend: Omit<EdgeBackend, 'svcId' | 'id'>) =>
    programService(t.fx.dp, M, frontend(vip, port, proto, 1, { mode }), [{ id: 1, ...backend }]);
  /** What left, with every checksum verified; its IP packet (or tunnel) as hex. */
  function sent(r: ProgTestRunResult, action: number, mac?: string): string {
    expect(r.retval).toBe(action);
    expect(checksumFaults(r.packet)).toEqual([]);
    if (mac) expect(r.packet.subarray(0, 6).equals(P.macBytes(mac))).toBe(true);
    return r.packet.subarray(P.ETH_HLEN).toString('hex');
  }
  const hex = (ip: Buffer) => ip.toString('hex');

  describe("XDP: an error about a frontend's reply goes to the flow's backend, quoting the backend's own reply", () => {
    const CASES = [
      { name: 'IPv4 TCP, local backend, fragmentation needed quoting 548 bytes', vip: VIP4, client: CLIENT4, router: ROUTER4, proto: 'TCP', path: 'local', kind: 'too big', q: '548 bytes' },
      { name: 'IPv6 UDP, local backend, port unreachable quoting it whole', vip: VIP6, client: CLIENT6, router: ROUTER6, proto: 'UDP', path: 'local', kind: 'port unreachable', q: 'whole' },
      { name: 'IPv4 UDP, snat, port unreachable quoting it whole', vip: VIP4, client: CLIENT4, router: ROUTER4, proto: 'UDP', path: 'snat', kind: 'port unreachable', q: 'whole' },
      { name: 'IPv6 TCP, snat, packet too big quoting header + 8', vip: VIP6, client: CLIENT6, router: ROUTER6, proto: 'TCP', path: 'snat', kind: 'too big', q: 'header + 8' },
      { name: 'IPv4 TCP, dsr, time exceeded quoting header + 8', vip: VIP4, client: CLIENT4, router: ROUTER4, proto: 'TCP', path: 'dsr', kind: 'time exceeded', q: 'header + 8' },
      { name: 'IPv6 TCP, dsr, packet too big quoting 548 bytes', vip: VIP6, client: CLIENT6, router: ROUTER6, proto: 'TCP', path: 'dsr', kind: 'too big', q: '548 bytes' },
    ] as const;

    test.each(CASES)('$name', ({ vip, client, router, proto, path, kind, q }) => {
      const v4 = familyOf(vip) === 4;
      const node = v4 ? NODE4 : NODE6;
      const peer = v4 ? PEER4 : PEER6;
      const be = path === 'local' ? { addr: v4 ? '198.18.50.1' : 'fd00:198:18:50::1', port: 8080 } : path === 'snat' ? { addr: peer, port: 8080, nodeAddr: peer } : { addr: v4 ? '198.18.60.1' : 'fd00:198:18:60::1', port: 8080, nodeAddr: peer };
      service(vip, 80, proto, path === 'snat' ? 'snat' : 'dsr', be);
      const first = runXdp(packet(proto, { src: client, dst: vip, sport: 41000, dport: 80 }));
      const snatPort = path === 'snat' ? P.ports(first.packet).sport : 0;
      const reply = packet(proto, { src: vip, dst: client, sport: 80, dport: 41000 });
      const r = runXdp(errorFrame(kind, router, vip, quote(reply, q)));

      // The reply as the backend sent it, before it was made the frontend's.
      const backendReply = packet(proto, path === 'snat' ? { src: be.addr, dst: node, sport: 8080, dport: snatPort } : { src: be.addr, dst: client, sport: 8080, dport: 41000 });
      if (path === 'local') {
        expect(sent(r, XDP_PASS)).toBe(hex(P.quoteOf(errorFrame(kind, router, be.addr, quote(backendReply, q)))));
      } else if (path === 'snat') {
        expect(sent(r, XDP_TX, PEER_MAC)).toBe(hex(P.quoteOf(errorFrame(kind, node, be.addr, quote(backendReply, q)))));
      } else {
        const inner = P.quoteOf(errorFrame(kind, router, be.addr, quote(backendReply, q)));
        expect(sent(r, XDP_TX, PEER_MAC)).toBe(hex(P.dsrTunnel(inner, node, peer, { addr: vip, port: 80 })));
      }
    });

    test('a flow whose entry is gone finds its backend by Maglev, and no flow is written', () => {
      service(VIP4, 80, 'TCP', 'dsr', { addr: '198.18.50.1', port: 8080 });
      const reply = packet('TCP', { src: VIP4, dst: CLIENT4, sport: 80, dport: 41000 });
      const r = runXdp(errorFrame('too big', ROUTER4, VIP4, quote(reply, '548 bytes')));
      const backendReply = packet('TCP', { src: '198.18.50.1', dst: CLIENT4, sport: 8080, dport: 41000 });
      expect(sent(r, XDP_PASS)).toBe(hex(P.quoteOf(errorFrame('too big', ROUTER4, '198.18.50.1', quote(backendReply, '548 bytes')))));
      expect(t.fx.dp.dumpFlows()).toEqual([]);
      expect(t.fx.dp.readFlowMisses()).toBe(0);
    });
  });

  describe("XDP, snat: an error about this node's packet to a backend becomes the client's", () => {
    test.each([
      { name: 'IPv4 UDP: the backend port unreachable, quoting it whole', vip: VIP4, client: LINK_CLIENT4, node: NODE4, peer: PEER4, from: PEER4, proto: 'UDP', kind: 'port unreachable', q: 'whole' },
      { name: 'IPv6 TCP: packet too big from behind the backend, quoting 548 bytes', vip: VIP6, client: LINK_CLIENT6, node: NODE6, peer: PEER6, from: ROUTER6, proto: 'TCP', kind: 'too big', q: '548 bytes' },
    ] as const)('$name', ({ vip, client, node, peer, from, proto, kind, q }) => {
      service(vip, 80, proto, 'snat', { addr: peer, port: 8080, nodeAddr: peer });
      const out = runXdp(packet(proto, { src: client, dst: vip, sport: 42000, dport: 80 }));
      const snatPort = P.ports(out.packet).sport;
      const forwarded = packet(proto, { src: node, dst: peer, sport: snatPort, dport: 8080 });
      const r = runXdp(errorFrame(kind, from, node, quote(forwarded, q)));
      const asSent = packet(proto, { src: client, dst: vip, sport: 42000, dport: 80 });
      expect(sent(r, XDP_TX, P.CLIENT_MAC)).toBe(hex(P.quoteOf(errorFrame(kind, vip, client, quote(asSent, q)))));
    });
  });

  describe("tc egress on the backend's node: an error about a client's packet leaves as the frontend's", () => {
    test.each([
      { name: "IPv4 UDP, a local backend's port unreachable, quoting it whole", vip: VIP4, client: CLIENT4, be: '198.18.50.2', from: 'backend', proto: 'UDP', kind: 'port unreachable', q: 'whole', via: 'xdp' },
      { name: "IPv4 TCP, the node's own fragmentation needed towards a local backend, quoting header + 8", vip: VIP4, client: CLIENT4, be: '198.18.50.1', from: NODE_PODS4, proto: 'TCP', kind: 'too big', q: 'header + 8', via: 'xdp' },
      { name: "IPv6 TCP, a DSR backend's node's packet too big, quoting 548 bytes", vip: VIP6, client: CLIENT6, be: 'fd00:198:18:50::1', from: NODE_PODS6, proto: 'TCP', kind: 'too big', q: '548 bytes', via: 'tunnel' },
      { name: "IPv6 UDP, a DSR backend's port unreachable, quoting it whole", vip: VIP6, client: CLIENT6, be: 'fd00:198:18:50::2', from: 'backend', proto: 'UDP', kind: 'port unreachable', q: 'whole', via: 'tunnel' },
    ] as const)('$name', ({ vip, client, be, from, proto, kind, q, via }) => {
      const toBackend = packet(proto, { src: client, dst: be, sport: 43000, dport: 8080 });
      if (via === 'xdp') {
        service(vip, 80, proto, 'dsr', { addr: be, port: 8080 });
        expect(runXdp(packet(proto, { src: client, dst: vip, sport: 43000, dport: 80 })).retval).toBe(XDP_PASS);
      } else {
        const tunnel = Buffer.concat([toBackend.subarray(0, P.ETH_HLEN), P.dsrTunnel(P.quoteOf(toBackend), PEER6, NODE6, { addr: vip, port: 80 })]);
        expect(runTc(TC_INGRESS, tunnel).packet.equals(toBackend)).toBe(true);
      }
      const sender = from === 'backend' ? be : from;
      const r = runTc(TC_EGRESS, errorFrame(kind, sender, client, quote(toBackend, q)));
      const asSent = packet(proto, { src: client, dst: vip, sport: 43000, dport: 80 });
      expect(sent(r, TC_ACT_OK)).toBe(hex(P.quoteOf(errorFrame(kind, vip, client, quote(asSent, q)))));
    });
  });

  describe('errors that are not about a flow of the edge LB are left to the stack, byte for byte', () => {
    const expectXdpUntouched = (frame: Buffer) => {
      const r = runXdp(frame);
      expect(r.retval).toBe(XDP_PASS);
      expect(r.packet.equals(frame)).toBe(true);
    };
    const expectEgressUntouched = (frame: Buffer) => {
      const r = runTc(TC_EGRESS, frame);
      expect(r.retval).toBe(TC_ACT_OK);
      expect(r.packet.equals(frame)).toBe(true);
    };
    const reply = (sport = 80) => packet('UDP', { src: VIP4, dst: CLIENT4, sport, dport: 41000 });

    test('XDP: another port, another destination than the quoted source, a short quote, a later fragment, another family, not an error', () => {
      service(VIP4, 80, 'UDP', 'dsr', { addr: '198.18.50.1', port: 8080 });
      // The same error about the right flow is translated: each edit alone makes the difference.
      expect(runXdp(errorFrame('port unreachable', ROUTER4, VIP4, quote(reply(), 'whole'))).packet.equals(errorFrame('port unreachable', ROUTER4, VIP4, quote(reply(), 'whole')))).toBe(false);
      expectXdpUntouched(errorFrame('port unreachable', ROUTER4, VIP4, quote(reply(81), 'whole')));
      expectXdpUntouched(errorFrame('port unreachable', ROUTER4, '198.18.100.11', quote(reply(), 'whole')));
      expectXdpUntouched(errorFrame('port unreachable', ROUTER4, VIP4, P.quoteOf(reply(), 20 + 4)));
      const later = P.quoteOf(P.ethernet(P.NODE_MAC, P.CLIENT_MAC, P.ETH_P_IP, P.ipv4({ src: VIP4, dst: CLIENT4, proto: P.IPPROTO_UDP, payload: P.quoteOf(reply()).subarray(20), fragField: 0x0010 })));
      expectXdpUntouched(errorFrame('port unreachable', ROUTER4, VIP4, later));
      const six = P.quoteOf(packet('UDP', { src: VIP6, dst: CLIENT6, sport: 80, dport: 41000 }));
      expectXdpUntouched(P.ethernet(P.NODE_MAC, P.CLIENT_MAC, P.ETH_P_IP, P.icmpError(ROUTER4, VIP4, 3, 3, six)));
      expectXdpUntouched(P.ethernet(P.NODE_MAC, P.CLIENT_MAC, P.ETH_P_IP, P.icmpError(ROUTER4, VIP4, 5, 1, quote(reply(), 'whole')))); // a redirect
      expectXdpUntouched(P.ethernet(P.NODE_MAC, P.CLIENT_MAC, P.ETH_P_IP, P.icmpError(ROUTER4, VIP4, 8, 0, quote(reply(), 'whole')))); // an echo request
    });

    test('XDP, snat: an error about a port no flow has', () => {
      service(VIP4, 80, 'UDP', 'snat', { addr: PEER4, port: 8080, nodeAddr: PEER4 });
      const snatPort = P.ports(runXdp(packet('UDP', { src: LINK_CLIENT4, dst: VIP4, sport: 42000, dport: 80 })).packet).sport;
      const forwarded = (sport: number) => packet('UDP', { src: NODE4, dst: PEER4, sport, dport: 8080 });
      expect(runXdp(errorFrame('port unreachable', PEER4, NODE4, quote(forwarded(snatPort), 'whole'))).retval).toBe(XDP_TX);
      expectXdpUntouched(errorFrame('port unreachable', PEER4, NODE4, quote(forwarded(snatPort === 65535 ? 61000 : snatPort + 1), 'whole')));
    });

    test("tc egress: an error about a packet to a backend that no client's flow reached", () => {
      service(VIP4, 80, 'UDP', 'dsr', { addr: '198.18.50.2', port: 8080 });
      runXdp(packet('UDP', { src: CLIENT4, dst: VIP4, sport: 43000, dport: 80 }));
      const toBackend = (sport: number) => packet('UDP', { src: CLIENT4, dst: '198.18.50.2', sport, dport: 8080 });
      expect(runTc(TC_EGRESS, errorFrame('port unreachable', '198.18.50.2', CLIENT4, quote(toBackend(43000), 'whole'))).packet.subarray(P.ETH_HLEN + 12, P.ETH_HLEN + 16).equals(P.ipv4Bytes(VIP4))).toBe(true);
      expectEgressUntouched(errorFrame('port unreachable', '198.18.50.2', CLIENT4, quote(toBackend(43001), 'whole')));
      expectEgressUntouched(errorFrame('port unreachable', '198.18.50.2', '198.19.5.6', quote(toBackend(43000), 'whole')));
    });
  });

  test('tc ingress: a tunnelled error is opened for the stack and makes no flow; other tunnelled ICMP is still dropped', () => {
    const toClient = packet('TCP', { src: 'fd00:198:18:50::1', dst: CLIENT6, sport: 8080, dport: 44000 });
    const error = errorFrame('too big', ROUTER6, 'fd00:198:18:50::1', quote(toClient, '548 bytes'));
    const tunnelled = (inner: Buffer) => Buffer.concat([inner.subarray(0, P.ETH_HLEN), P.dsrTunnel(P.quoteOf(inner), PEER6, NODE6, { addr: VIP6, port: 80 })]);
    const r = runTc(TC_INGRESS, tunnelled(error));
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.packet.equals(error)).toBe(true);
    // No flow: a reply from that backend to that client is not rewritten.
    expect(runTc(TC_EGRESS, toClient).packet.equals(toClient)).toBe(true);
    const echo = P.ethernet(P.NODE_MAC, P.CLIENT_MAC, P.ETH_P_IPV6, P.icmpError(ROUTER6, 'fd00:198:18:50::1', 128, 0, Buffer.alloc(8)));
    expect(runTc(TC_INGRESS, tunnelled(echo)).retval).toBe(2);
    expect(dropCount(t.fx.dp, 'invalid_packet')).toBe(1);
  });

  describe('DSR: a client packet too big for the tunnel is answered with the MTU it has', () => {
    // The fixture's link has an MTU of 1500; kpr's tunnel adds 28 bytes (IPv4) or 64 (IPv6).
    const B4 = { addr: '198.18.60.1', port: 8080, nodeAddr: PEER4 };
    const B6 = { addr: 'fd00:198:18:60::1', port: 8080, nodeAddr: PEER6 };
    const segment = (f: P.Flow, ipLen: number, ip4: Partial<P.Ipv4Options> = {}) =>
      P.tcpFrame(f, { flags: P.TCP_ACK, payload: Buffer.alloc(ipLen - (familyOf(f.src) === 4 ? 40 : 60), 0x6b) }, ip4);

    test.each([
      { name: 'IPv4 with DF: fragmentation needed, MTU 1472', vip: VIP4, client: CLIENT4, be: B4, fits: 1472, ip4: {} },
      { name: 'IPv4 without DF: fragmentation needed too (XDP cannot fragment)', vip: VIP4, client: CLIENT4, be: B4, fits: 1472, ip4: { fragField: 0 } },
      { name: 'IPv6: packet too big, MTU 1436', vip: VIP6, client: CLIENT6, be: B6, fits: 1436, ip4: {} },
    ])('$name', ({ vip, client, be, fits, ip4 }) => {
      programService(t.fx.dp, M, frontend(vip, 80, 'TCP', 1), [{ id: 1, ...be }]);
      const flow = { src: client, dst: vip, sport: 45000, dport: 80 };
      const big = segment(flow, fits + 1, ip4);
      const r = runXdp(big);
      expect(r.retval).toBe(XDP_TX);
      expect(r.packet.toString('hex')).toBe(P.tooBig(big, fits).toString('hex'));
      expect(checksumFaults(r.packet)).toEqual([]);
      expect(dropCount(t.fx.dp, 'frag_needed')).toBe(1);
      // One byte less fits the tunnel exactly.
      const fitting = runXdp(segment(flow, fits, ip4));
      expect(fitting.retval).toBe(XDP_TX);
      expect(fitting.packet.length).toBe(P.ETH_HLEN + 1500);
      expect(dropCount(t.fx.dp, 'frag_needed')).toBe(1);
    });
  });
});
