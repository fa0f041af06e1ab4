// The XDP edge load balancer, packet by packet through BPF_PROG_TEST_RUN:
// what leaves is checked byte for byte against packets built from the RFCs.
import * as path from 'path';
import { run } from '../helpers/run';
import { sleep } from '../helpers/sleep';
import { EdgeBackend, EdgeFrontend, ProgTestRunResult } from '../../lib/datapath/native';
import * as P from './packets';
import {
  CLIENT4, CLIENT6, dropCount, eachEdgeFixture, EdgeFixture, evenTable, expectUnchanged, frontend, inSnatPorts, LINK_CLIENT4,
  LINK_CLIENT6, NODE4, NODE6, PEER4, PEER6, PEER_MAC, PROG, programService, TC_ACT_OK, TC_EGRESS, TC_INGRESS, UNRESOLVED4,
  VIP4, VIP6, XDP_DROP, XDP_PASS, XDP_TX,
} from './xdp_fixture';

const M = 251;
const LOCAL_A = '198.18.50.1';
const LOCAL_B = '198.18.50.2';

const drops = (fx: EdgeFixture, reason: string): number => dropCount(fx.dp, reason);

describe('XDP edge LB (BPF_PROG_TEST_RUN)', () => {
  const t = eachEdgeFixture('xdp', { maglevTableSize: M });
  const runPkt = (pkt: Buffer): ProgTestRunResult => t.fx.dp.progTestRun(PROG, pkt, 1, { netns: t.fx.netns, ifindex: t.fx.ifindex });
  const runTc = (prog: string, pkt: Buffer): ProgTestRunResult => t.fx.dp.progTestRun(prog, pkt, 1);
  /** A reply through tc egress: it leaves as the frontend's (expected is
   *  the same reply built from the frontend, so its checksums are checked). */
  const expectReplyAs = (reply: Buffer, expected: Buffer) => {
    const r = runTc(TC_EGRESS, reply);
    expect(r.retval).toBe(TC_ACT_OK);
    expect(r.packet.subarray(P.ETH_HLEN).toString('hex')).toBe(expected.subarray(P.ETH_HLEN).toString('hex'));
  };
  const expectTcUntouched = (prog: string, pkt: Buffer) => expectUnchanged(runTc(prog, pkt), pkt, TC_ACT_OK);
  const table = (...ids: number[]) => evenTable(M, ...ids);
  const service = (fe: EdgeFrontend, backends: Omit<EdgeBackend, 'svcId'>[]) => programService(t.fx.dp, M, fe, backends);
  const expectUntouched = (pkt: Buffer, action = XDP_PASS) => expectUnchanged(runPkt(pkt), pkt, action);

  describe('not for a frontend: passed with every byte unchanged', () => {
    beforeEach(() => service(frontend(VIP4, 80, 'TCP', 1), [{ id: 1, addr: '198.18.60.1', port: 8080, nodeAddr: PEER4 }]));

    test('another address, another port, another protocol, IPv6', () => {
      expectUntouched(P.tcpFrame({ src: CLIENT4, dst: '198.18.100.11', sport: 40000, dport: 80 }));
      expectUntouched(P.tcpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 81 }));
      expectUntouched(P.udpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 80 }));
      expectUntouched(P.tcpFrame({ src: CLIENT6, dst: VIP6, sport: 40000, dport: 80 }));
    });

    test('ARP and other non-IP frames', () => {
      const arp = Buffer.alloc(28);
      arp.writeUInt16BE(1, 0);
      arp.writeUInt16BE(P.ETH_P_IP, 2);
      arp[4] = 6;
      arp[5] = 4;
      arp.writeUInt16BE(1, 6);
      P.ipv4Bytes(CLIENT4).copy(arp, 14);
      P.ipv4Bytes(VIP4).copy(arp, 24);
      expectUntouched(P.ethernet('ff:ff:ff:ff:ff:ff', P.CLIENT_MAC, P.ETH_P_ARP, arp));
      expectUntouched(P.ethernet(P.NODE_MAC, P.CLIENT_MAC, 0x88cc, Buffer.alloc(46)));
    });
  });

  describe('malformed packets are never rewritten', () => {
    const good = () => P.tcpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 80 });
    beforeEach(() => service(frontend(VIP4, 80, 'TCP', 1), [{ id: 1, addr: '198.18.60.1', port: 8080, nodeAddr: PEER4 }]));

    test('broken L3 headers go to the stack untouched (it drops and counts them)', () => {
      expectUntouched(good().subarray(0, P.ETH_HLEN + 10)); // truncated IPv4 header
      const ihl4 = good();
      ihl4[P.ETH_HLEN] = 0x44;
      expectUntouched(ihl4);
      const tooLong = good();
      tooLong.writeUInt16BE(tooLong.length, P.ETH_HLEN + 2); // total length beyond the frame
      expectUntouched(tooLong);
      const v6 = P.tcpFrame({ src: CLIENT6, dst: VIP6, sport: 40000, dport: 80 });
      expectUntouched(v6.subarray(0, P.ETH_HLEN + 30)); // truncated IPv6 header
      expectUntouched(v6.subarray(0, v6.length - 4)); // payload length beyond the frame
      expectUntouched(P.ethernet(P.NODE_MAC, P.CLIENT_MAC, P.ETH_P_IP, Buffer.alloc(0))); // Ethernet only
    });

    test('a bad TCP header for a frontend is dropped and counted; elsewhere it is passed', () => {
      const badDoff = P.tcpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 80 }, { doff: 4 });
      expectUntouched(badDoff, XDP_DROP);
      expect(drops(t.fx, 'invalid_packet')).toBe(1);
      expectUntouched(P.tcpFrame({ src: CLIENT4, dst: '198.18.100.11', sport: 40000, dport: 80 }, { doff: 4 }));
      const truncated = good().subarray(0, P.ETH_HLEN + 20 + 12);
      truncated.writeUInt16BE(32, P.ETH_HLEN + 2);
      truncated.writeUInt16BE(P.internetChecksum(Buffer.concat([truncated.subarray(P.ETH_HLEN, P.ETH_HLEN + 10), Buffer.alloc(2), truncated.subarray(P.ETH_HLEN + 12, P.ETH_HLEN + 20)])), P.ETH_HLEN + 10);
      expectUntouched(truncated, XDP_DROP);
      expect(drops(t.fx, 'invalid_packet')).toBe(2);
    });
  });

  describe('DSR to a backend on another node', () => {
    /** The XDP output for pkt: the same frame addressed to the backend
     *  (expectedInner, built afresh, so its checksums are checked too) in
     *  kpr's tunnel to the backend's node, naming the frontend. */
    function expectTunnel(pkt: Buffer, expectedInner: Buffer, outerSrc: string, outerDst: string, fe: { addr: string; port: number }): void {
      const r = runPkt(pkt);
      expect(r.retval).toBe(XDP_TX);
      const out = r.packet;
      expect(out.subarray(0, 6).equals(P.macBytes(PEER_MAC))).toBe(true);
      expect(out.subarray(6, 12).equals(P.macBytes(P.NODE_MAC))).toBe(true);
      expect(out.readUInt16BE(12)).toBe(pkt.readUInt16BE(12));
      const tunnel = P.dsrTunnel(expectedInner.subarray(P.ETH_HLEN), outerSrc, outerDst, fe);
      expect(out.subarray(P.ETH_HLEN).toString('hex')).toBe(tunnel.toString('hex'));
    }
    const B4 = { addr: '198.18.60.1', port: 8080 };
    const B6 = { addr: 'fd00:198:18:60::1', port: 8080 };

    test('IPv4 TCP and UDP: IPIP from this node to the backend node, the frontend in an IPv4 option', () => {
      service(frontend(VIP4, 80, 'TCP', 1), [{ id: 1, ...B4, nodeAddr: PEER4 }]);
      service(frontend(VIP4, 53, 'UDP', 2), [{ id: 2, addr: '198.18.60.2', port: 5353, nodeAddr: PEER4 }]);
      const flow = { src: CLIENT4, dst: VIP4, sport: 40000, dport: 80 };
      expectTunnel(P.tcpFrame(flow, {}, { tos: 0x10 }), P.tcpFrame({ ...flow, dst: B4.addr, dport: B4.port }, {}, { tos: 0x10 }), NODE4, PEER4, { addr: VIP4, port: 80 });
      const udpFlow = { src: CLIENT4, dst: VIP4, sport: 40001, dport: 53 };
      expectTunnel(P.udpFrame(udpFlow), P.udpFrame({ ...udpFlow, dst: '198.18.60.2', dport: 5353 }), NODE4, PEER4, { addr: VIP4, port: 53 });
      expect(t.fx.dp.readStats()).toEqual([
        { svcId: 1, packets: 1, bytes: 54 },
        { svcId: 2, packets: 1, bytes: 50 },
      ]);
    });

    test('IPv6 TCP and UDP: IP6IP6, the frontend in a destination option', () => {
      service(frontend(VIP6, 80, 'TCP', 1), [{ id: 1, ...B6, nodeAddr: PEER6 }]);
      service(frontend(VIP6, 53, 'UDP', 2), [{ id: 2, addr: 'fd00:198:18:60::2', port: 5353, nodeAddr: PEER6 }]);
      const flow = { src: CLIENT6, dst: VIP6, sport: 40000, dport: 80 };
      expectTunnel(P.tcpFrame(flow), P.tcpFrame({ ...flow, dst: B6.addr, dport: B6.port }), NODE6, PEER6, { addr: VIP6, port: 80 });
      const udpFlow = { src: CLIENT6, dst: VIP6, sport: 40001, dport: 53 };
      expectTunnel(P.udpFrame(udpFlow), P.udpFrame({ ...udpFlow, dst: 'fd00:198:18:60::2', dport: 5353 }), NODE6, PEER6, { addr: VIP6, port: 53 });
    });

    test('IPv4 options travel inside the tunnel unchanged', () => {
      service(frontend(VIP4, 80, 'TCP', 1), [{ id: 1, ...B4, nodeAddr: PEER4 }]);
      const opts = Buffer.from([0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00]); // router alert, NOPs, EOL
      const flow = { src: CLIENT4, dst: VIP4, sport: 40000, dport: 80 };
      const seg = { payload: Buffer.from('hello') };
      expectTunnel(P.tcpFrame(flow, seg, { options: opts }), P.tcpFrame({ ...flow, dst: B4.addr, dport: B4.port }, seg, { options: opts }), NODE4, PEER4, { addr: VIP4, port: 80 });
    });

    test('no route to the backend node: dropped and counted', () => {
      service(frontend(VIP4, 80, 'TCP', 1), [{ id: 1, addr: '198.18.60.1', port: 8080, nodeAddr: UNRESOLVED4 }]);
      expect(runPkt(P.tcpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 80 })).retval).toBe(XDP_DROP);
      expect(drops(t.fx, 'fib_lookup_failed')).toBe(1);
    });
  });

  describe('a backend on this node: destination rewritten, checksums still valid', () => {
    function expectRewritten(pkt: Buffer, addr: string, port: number): Buffer {
      const r = runPkt(pkt);
      expect(r.retval).toBe(XDP_PASS);
      const ip = P.ipView(r.packet);
      expect(ip.dst.equals(P.addrBytes(addr))).toBe(true);
      expect(ip.src.equals(P.ipView(pkt).src)).toBe(true);
      expect(P.ports(r.packet)).toEqual({ sport: P.ports(pkt).sport, dport: port });
      if (ip.version === 4) expect(P.ipv4HeaderChecksumOk(r.packet)).toBe(true);
      expect(P.l4ChecksumOk(r.packet)).toBe(true);
      expect(r.packet.length).toBe(pkt.length);
      return r.packet;
    }

    test('IPv4 TCP (with options) and UDP, IPv6 TCP and UDP', () => {
      service(frontend(VIP4, 80, 'TCP', 1), [{ id: 1, addr: LOCAL_A, port: 8080 }]);
      service(frontend(VIP4, 53, 'UDP', 2), [{ id: 2, addr: LOCAL_B, port: 5353 }]);
      service(frontend(VIP6, 80, 'TCP', 3), [{ id: 3, addr: 'fd00:198:18:50::1', port: 8080 }]);
      service(frontend(VIP6, 53, 'UDP', 4), [{ id: 4, addr: 'fd00:198:18:50::2', port: 5353 }]);
      expectRewritten(P.tcpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 80 }, { payload: Buffer.from('GET /') }), LOCAL_A, 8080);
      expectRewritten(P.tcpFrame({ src: CLIENT4, dst: VIP4, sport: 40002, dport: 80 }, {}, { options: Buffer.from([1, 1, 1, 0]) }), LOCAL_A, 8080);
      expectRewritten(P.udpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 53 }, Buffer.from('odd')), LOCAL_B, 5353);
      expectRewritten(P.tcpFrame({ src: CLIENT6, dst: VIP6, sport: 40000, dport: 80 }), 'fd00:198:18:50::1', 8080);
      expectRewritten(P.udpFrame({ src: CLIENT6, dst: VIP6, sport: 40000, dport: 53 }), 'fd00:198:18:50::2', 5353);
    });

    test("the backend's replies leave as the frontend's (tc egress), other traffic untouched", () => {
      service(frontend(VIP4, 80, 'TCP', 1), [{ id: 1, addr: LOCAL_A, port: 8080 }]);
      service(frontend(VIP6, 53, 'UDP', 2), [{ id: 2, addr: 'fd00:198:18:50::2', port: 5353 }]);
      expect(runPkt(P.tcpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 80 })).retval).toBe(XDP_PASS);
      expect(runPkt(P.udpFrame({ src: CLIENT6, dst: VIP6, sport: 40000, dport: 53 })).retval).toBe(XDP_PASS);
      const ack = { flags: P.TCP_SYN | P.TCP_ACK, payload: Buffer.from('hi') };
      expectReplyAs(P.tcpFrame({ src: LOCAL_A, dst: CLIENT4, sport: 8080, dport: 40000 }, ack), P.tcpFrame({ src: VIP4, dst: CLIENT4, sport: 80, dport: 40000 }, ack));
      expectReplyAs(P.udpFrame({ src: 'fd00:198:18:50::2', dst: CLIENT6, sport: 5353, dport: 40000 }), P.udpFrame({ src: VIP6, dst: CLIENT6, sport: 53, dport: 40000 }));
      // Another client, another port of the backend: not a reply of the edge LB.
      expectTcUntouched(TC_EGRESS, P.tcpFrame({ src: LOCAL_A, dst: '198.19.5.6', sport: 8080, dport: 40000 }, ack));
      expectTcUntouched(TC_EGRESS, P.tcpFrame({ src: LOCAL_A, dst: CLIENT4, sport: 8081, dport: 40000 }, ack));
    });

    test('a UDP/IPv4 datagram without checksum keeps none', () => {
      service(frontend(VIP4, 53, 'UDP', 2), [{ id: 2, addr: LOCAL_B, port: 5353 }]);
      const out = expectRewritten(P.udpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 53 }, Buffer.from('x'), true), LOCAL_B, 5353);
      expect(out.readUInt16BE(P.ETH_HLEN + 20 + 6)).toBe(0);
    });
  });

  describe("the backend's node: tc_dsr.c ends the tunnel and answers as the frontend", () => {
    const CASES = [
      { name: 'IPv4 TCP', peer: PEER4, node: NODE4, client: CLIENT4, fe: { addr: VIP4, port: 80 }, be: { addr: LOCAL_A, port: 8080 }, udp: false },
      { name: 'IPv4 UDP', peer: PEER4, node: NODE4, client: CLIENT4, fe: { addr: VIP4, port: 53 }, be: { addr: LOCAL_B, port: 5353 }, udp: true },
      { name: 'IPv6 TCP', peer: PEER6, node: NODE6, client: CLIENT6, fe: { addr: VIP6, port: 80 }, be: { addr: 'fd00:198:18:50::1', port: 8080 }, udp: false },
      { name: 'IPv6 UDP', peer: PEER6, node: NODE6, client: CLIENT6, fe: { addr: VIP6, port: 53 }, be: { addr: 'fd00:198:18:50::2', port: 5353 }, udp: true },
    ];
    const frame = (udp: boolean, flow: P.Flow) => (udp ? P.udpFrame(flow) : P.tcpFrame(flow, { flags: P.TCP_SYN | P.TCP_ACK }));

    test.each(CASES)('$name: decapsulated for the stack, and the reply rewritten', ({ peer, node, client, fe, be, udp }) => {
      const inner = frame(udp, { src: client, dst: be.addr, sport: 41000, dport: be.port });
      const tunnelled = Buffer.concat([inner.subarray(0, P.ETH_HLEN), P.dsrTunnel(inner.subarray(P.ETH_HLEN), peer, node, fe)]);
      const r = runTc(TC_INGRESS, tunnelled);
      expect(r.retval).toBe(TC_ACT_OK);
      expect(r.packet.toString('hex')).toBe(inner.toString('hex'));
      expectReplyAs(frame(udp, { src: be.addr, dst: client, sport: be.port, dport: 41000 }), frame(udp, { src: fe.addr, dst: client, sport: fe.port, dport: 41000 }));
    });

    test('a tunnel to another address, or without the frontend option, is not ours', () => {
      const inner = P.tcpFrame({ src: CLIENT4, dst: LOCAL_A, sport: 41000, dport: 8080 });
      const elsewhere = Buffer.concat([inner.subarray(0, P.ETH_HLEN), P.dsrTunnel(inner.subarray(P.ETH_HLEN), PEER4, '198.18.0.7', { addr: VIP4, port: 80 })]);
      expectTcUntouched(TC_INGRESS, elsewhere);
      const plainIpip = P.ethernet(P.NODE_MAC, P.CLIENT_MAC, P.ETH_P_IP, P.ipv4({ src: PEER4, dst: NODE4, proto: 4, payload: inner.subarray(P.ETH_HLEN) }));
      expectTcUntouched(TC_INGRESS, plainIpip);
      expectTcUntouched(TC_INGRESS, P.tcpFrame({ src: CLIENT4, dst: LOCAL_A, sport: 41000, dport: 8080 }));
      // Nothing was remembered: the backend's packets to that client stay as they are.
      expectTcUntouched(TC_EGRESS, P.tcpFrame({ src: LOCAL_A, dst: CLIENT4, sport: 8080, dport: 41000 }));
    });

    test('a kpr tunnel the stack would refuse is left to it: a fragment, a bad header checksum, a length beyond the frame', () => {
      const reply = P.tcpFrame({ src: LOCAL_A, dst: CLIENT4, sport: 8080, dport: 41000 });
      const inner4 = P.tcpFrame({ src: CLIENT4, dst: LOCAL_A, sport: 41000, dport: 8080 });
      const inner6 = P.tcpFrame({ src: CLIENT6, dst: 'fd00:198:18:50::1', sport: 41000, dport: 8080 });
      const tunnel = (inner: Buffer, peer: string, node: string, fe: string, edit: (t: Buffer) => void) => {
        const t = Buffer.concat([inner.subarray(0, P.ETH_HLEN), P.dsrTunnel(inner.subarray(P.ETH_HLEN), peer, node, { addr: fe, port: 80 })]);
        edit(t);
        return t;
      };
      const v4 = (edit: (t: Buffer) => void) => tunnel(inner4, PEER4, NODE4, VIP4, edit);
      const resealed = (edit: (t: Buffer) => void) => (t: Buffer) => {
        edit(t);
        t.writeUInt16BE(0, P.ETH_HLEN + 10);
        t.writeUInt16BE(P.internetChecksum(t.subarray(P.ETH_HLEN, P.ETH_HLEN + 28)), P.ETH_HLEN + 10);
      };
      expectTcUntouched(TC_INGRESS, v4(resealed((t) => t.writeUInt16BE(0x2000, P.ETH_HLEN + 6)))); // first fragment
      expectTcUntouched(TC_INGRESS, v4(resealed((t) => t.writeUInt16BE(0x0010, P.ETH_HLEN + 6)))); // a later one
      expectTcUntouched(TC_INGRESS, v4((t) => (t[P.ETH_HLEN + 10] ^= 0x01)));
      expectTcUntouched(TC_INGRESS, v4(resealed((t) => t.writeUInt16BE(t.length - P.ETH_HLEN + 1, P.ETH_HLEN + 2))));
      expectTcUntouched(TC_INGRESS, tunnel(inner6, PEER6, NODE6, VIP6, (t) => t.writeUInt16BE(t.length - P.ETH_HLEN - 40 + 1, P.ETH_HLEN + 4)));
      // The same tunnel intact is opened: the edits alone made the difference.
      expect(runTc(TC_INGRESS, v4(() => undefined)).packet.equals(inner4)).toBe(true);
      expectReplyAs(reply, P.tcpFrame({ src: VIP4, dst: CLIENT4, sport: 80, dport: 41000 }));
    });
  });

  describe('snat mode: the backend answers this node, which answers the client', () => {
    const frameOf = (udp: boolean) => (flow: P.Flow) => (udp ? P.udpFrame(flow) : P.tcpFrame(flow));
    /** The client's packet through XDP: where it went, on which snat port. */
    function forward(frame: (f: P.Flow) => Buffer, client: string, vip: string, sport: number) {
      const out = runPkt(frame({ src: client, dst: vip, sport, dport: 80 }));
      expect(out.retval).toBe(XDP_TX);
      expect(out.packet.subarray(0, 6).equals(P.macBytes(PEER_MAC))).toBe(true);
      return out;
    }
    /** One of the agent's pinned maps, read and changed through bpftool (bytes as it prints them: 0x..). */
    const pinned = (map: string) => path.join(t.root.path, 'kpr', 'maps', map);
    const hex = (bytes: string[]) => bytes.map((x) => x.replace(/^0x/, ''));
    const pinnedEntries = (map: string) => JSON.parse(run('bpftool', ['-j', 'map', 'dump', 'pinned', pinned(map)])) as { key: string[]; value: string[] }[];
    const deletePinned = (map: string, key: string[]) => run('bpftool', ['map', 'delete', 'pinned', pinned(map), 'key', 'hex', ...hex(key)]);

    test.each([
      { name: 'IPv4 TCP', vip: VIP4, client: LINK_CLIENT4, node: NODE4, be: PEER4, udp: false },
      { name: 'IPv6 UDP', vip: VIP6, client: LINK_CLIENT6, node: NODE6, be: PEER6, udp: true },
    ])('$name: on a snat port of its own, and back to the client', ({ vip, client, node, be, udp }) => {
      service(frontend(vip, 80, udp ? 'UDP' : 'TCP', 1, { mode: 'snat' }), [{ id: 1, addr: be, port: 8080, nodeAddr: be }]);
      const frame = frameOf(udp);
      const out = forward(frame, client, vip, 42000);
      const snat = P.ports(out.packet).sport;
      expect(inSnatPorts(snat)).toBe(true);
      expect(out.packet.subarray(P.ETH_HLEN).toString('hex')).toBe(frame({ src: node, dst: be, sport: snat, dport: 8080 }).subarray(P.ETH_HLEN).toString('hex'));
      // The flow's next packet keeps its port.
      expect(P.ports(forward(frame, client, vip, 42000).packet).sport).toBe(snat);

      const back = runPkt(frame({ src: be, dst: node, sport: 8080, dport: snat }));
      expect(back.retval).toBe(XDP_TX);
      expect(back.packet.subarray(0, 6).equals(P.macBytes(P.CLIENT_MAC))).toBe(true);
      expect(back.packet.subarray(P.ETH_HLEN).toString('hex')).toBe(frame({ src: vip, dst: client, sport: 80, dport: 42000 }).subarray(P.ETH_HLEN).toString('hex'));
      // A packet from the backend on another port is not a reply of this flow,
      // nor one to the client's own port: that is this node's own connection.
      expectUntouched(frame({ src: be, dst: node, sport: 8080, dport: snat === 65535 ? 1024 : snat + 1 }));
      expectUntouched(frame({ src: be, dst: node, sport: 8080, dport: 42000 }));
    });

    test('two clients on the same source port get two snat ports, and each its own replies', () => {
      service(frontend(VIP4, 80, 'TCP', 1, { mode: 'snat' }), [{ id: 1, addr: PEER4, port: 8080, nodeAddr: PEER4 }]);
      const frame = frameOf(false);
      // The fixture's link has neighbours for these two only (the FIB must resolve each client).
      const other = PEER4;
      const a = P.ports(forward(frame, LINK_CLIENT4, VIP4, 42000).packet).sport;
      const b = P.ports(forward(frame, other, VIP4, 42000).packet).sport;
      expect(a).not.toBe(b);
      for (const [port, client] of [[a, LINK_CLIENT4], [b, other]] as const) {
        const back = runPkt(frame({ src: PEER4, dst: NODE4, sport: 8080, dport: port }));
        expect(back.retval).toBe(XDP_TX);
        expect(back.packet.subarray(P.ETH_HLEN).toString('hex')).toBe(frame({ src: VIP4, dst: client, sport: 80, dport: 42000 }).subarray(P.ETH_HLEN).toString('hex'));
      }
    });

    test('a flow whose entries another build never saw (a migration) gets its port again: the first port tried is a hash of client and backend', () => {
      service(frontend(VIP4, 80, 'TCP', 1, { mode: 'snat' }), [{ id: 1, addr: PEER4, port: 8080, nodeAddr: PEER4 }]);
      const frame = frameOf(false);
      const ports = [42000, 42001, 42002, 42003].map((sport) => P.ports(forward(frame, LINK_CLIENT4, VIP4, sport).packet).sport);
      expect(new Set(ports).size).toBe(4);
      // The new build's maps, as a migration makes them before the old entries are carried over: empty.
      for (const map of ['kpr_edge_snat', 'kpr_edge_snat_ports']) {
        const entries = pinnedEntries(map);
        expect(entries.length).toBe(4);
        for (const e of entries) deletePinned(map, e.key);
      }
      expect([42000, 42001, 42002, 42003].map((sport) => P.ports(forward(frame, LINK_CLIENT4, VIP4, sport).packet).sport)).toEqual(ports);
    });

    test("a flow's entry remembers its snat port: its packets keep it without the client's pointer, and a remembered port another client's flow holds is not used", () => {
      service(frontend(VIP4, 80, 'TCP', 1, { mode: 'snat' }), [{ id: 1, addr: PEER4, port: 8080, nodeAddr: PEER4 }]);
      const frame = frameOf(false);
      const other = PEER4; // the fixture's link has neighbours for these two clients only
      const portOf = (client: string) => P.ports(forward(frame, client, VIP4, 42000).packet).sport;
      const [a, b] = [portOf(LINK_CLIENT4), portOf(other)];
      /** edge_flow_val.snat_port, network order, at bytes 10-11. */
      const remembered = (e: { value: string[] }) => (Number(e.value[10]) << 8) | Number(e.value[11]);
      const flows = () => pinnedEntries('kpr_edge_flows4');
      expect(flows().map(remembered).sort()).toEqual([a, b].sort());

      // Client A's entry made to remember B's port, found its own in no second (edge_flow_val.snat_checked_s, bytes
      // 12-15, zero): A's packet still leaves on its own, which its entry remembers again.
      const entryA = flows().find((e) => remembered(e) === a)!;
      const value = [...hex(entryA.value)];
      [value[10], value[11]] = [(b >> 8).toString(16), (b & 0xff).toString(16)];
      value.splice(12, 4, '0', '0', '0', '0');
      run('bpftool', ['map', 'update', 'pinned', pinned('kpr_edge_flows4'), 'key', 'hex', ...hex(entryA.key), 'value', 'hex', ...value]);
      expect(portOf(LINK_CLIENT4)).toBe(a);
      expect(flows().map(remembered).sort()).toEqual([a, b].sort());

      // Without the clients' pointers, the remembered ports carry each flow (a new claim would not give A its port back: it is held).
      for (const e of pinnedEntries('kpr_edge_snat_ports')) deletePinned('kpr_edge_snat_ports', e.key);
      expect([portOf(LINK_CLIENT4), portOf(other)]).toEqual([a, b]);
      for (const [port, client] of [[a, LINK_CLIENT4], [b, other]] as const) {
        const back = runPkt(frame({ src: PEER4, dst: NODE4, sport: 8080, dport: port }));
        expect(back.retval).toBe(XDP_TX);
        expect(back.packet.subarray(P.ETH_HLEN).toString('hex')).toBe(frame({ src: VIP4, dst: client, sport: 80, dport: 42000 }).subarray(P.ETH_HLEN).toString('hex'));
      }
    });

    test("a port found to be its flow's carries the rest of that clock second's packets to that frontend unlooked-at; a packet or reply that moves the flow's state, another frontend and the next second look again", async () => {
      service(frontend(VIP4, 80, 'TCP', 1, { mode: 'snat' }), [{ id: 1, addr: PEER4, port: 8080, nodeAddr: PEER4 }]);
      t.fx.dp.updateFrontends([frontend(NODE4, 30080, 'TCP', 1, { mode: 'snat' })]);
      const send = (flags: number, dst = VIP4, dport = 80) => {
        const out = runPkt(P.tcpFrame({ src: LINK_CLIENT4, dst, sport: 42000, dport }, { flags }));
        expect(out.retval).toBe(XDP_TX);
        return P.ports(out.packet).sport;
      };
      /** The port's entry given to client PEER4, as no flow of the same second could have it (the way to tell a packet
       *  that looks from one that does not: one that looks finds the port another's, and moves to a new one). */
      const disown = (port: number) => {
        const e = pinnedEntries('kpr_edge_snat').find((x) => ((Number(x.key[34]) << 8) | Number(x.key[35])) === port)!;
        const value = [...hex(e.value)];
        value.splice(0, 4, ...PEER4.split('.').map((n) => Number(n).toString(16)));
        run('bpftool', ['map', 'update', 'pinned', pinned('kpr_edge_snat'), 'key', 'hex', ...hex(e.key), 'value', 'hex', ...value]);
      };
      let ticks = 0;
      const inSecond = async (steps: () => void) => {
        // Each case within one second of the datapath clock (CLOCK_MONOTONIC_COARSE, which lags the monotonic clock
        // by a jiffy at most): started just after the second turned, which a new flow moves the clock on to.
        await sleep(1000 - Number((process.hrtime.bigint() / 1_000_000n) % 1000n) + 50);
        expect(runPkt(P.tcpFrame({ src: LINK_CLIENT4, dst: VIP4, sport: 43000 + ticks++, dport: 80 })).retval).toBe(XDP_TX);
        steps();
      };

      let port = 0;
      await inSecond(() => {
        port = send(P.TCP_SYN);
        send(P.TCP_ACK); // the handshake done: the state moved, the entry was met
        disown(port);
        expect([send(P.TCP_ACK), send(P.TCP_ACK | P.TCP_PSH), send(P.TCP_SYN)]).toEqual([port, port, port]);
        // A FIN moves the state: the entry is met, found another's, and the flow takes a new port.
        const next = send(P.TCP_FIN | P.TCP_ACK);
        expect(next).not.toBe(port);
        port = next;
      });
      await inSecond(() => {
        expect(send(P.TCP_ACK)).toBe(port); // this second's first: met, the flow's own
        // The backend's first reply moves the state: the client's next packet meets the entry.
        expect(runPkt(P.tcpFrame({ src: PEER4, dst: NODE4, sport: 8080, dport: port }, { flags: P.TCP_ACK })).retval).toBe(XDP_TX);
        disown(port);
        const next = send(P.TCP_ACK);
        expect(next).not.toBe(port);
        port = next;
      });
      await inSecond(() => {
        expect(send(P.TCP_ACK)).toBe(port);
        disown(port);
        expect(send(P.TCP_ACK)).toBe(port);
        // The service's other frontend, from the same client port: met, and a port of its own.
        const next = send(P.TCP_ACK, NODE4, 30080);
        expect(next).not.toBe(port);
        port = next;
      });
      disown(port);
      await inSecond(() => expect(send(P.TCP_ACK, NODE4, 30080)).not.toBe(port)); // the next second: met
    });

    test("a flow of a build that kept the client's port keeps it across the upgrade", () => {
      service(frontend(VIP4, 80, 'TCP', 1, { mode: 'snat' }), [{ id: 1, addr: PEER4, port: 8080, nodeAddr: PEER4 }]);
      // Its reverse entry as the older build wrote it (and the upgrade carried
      // over, map_layouts.cc): keyed by the client's port, with no client
      // port in the value (edge_snat_key / edge_snat_val), established.
      const addr16 = (a: string) => [...a.split('.').map(Number), ...Array(12).fill(0)];
      const be16 = (n: number) => [n >> 8, n & 0xff];
      const key = [...addr16(PEER4), ...addr16(NODE4), ...be16(8080), ...be16(42000), 6, 2, 0, 0];
      const seen = Array(4).fill(0);
      const value = [...addr16(LINK_CLIENT4), ...addr16(VIP4), ...be16(80), 0, 0, 1, 0, 0, 0, ...seen, 0x11, 0, 0, 0];
      const args = (bytes: number[]) => bytes.map(String);
      run('bpftool', ['map', 'update', 'pinned', pinned('kpr_edge_snat'), 'key', ...args(key), 'value', ...args(value)]);
      const frame = frameOf(false);
      expect(P.ports(forward(frame, LINK_CLIENT4, VIP4, 42000).packet).sport).toBe(42000);
      const back = runPkt(frame({ src: PEER4, dst: NODE4, sport: 8080, dport: 42000 }));
      expect(back.retval).toBe(XDP_TX);
      expect(back.packet.subarray(P.ETH_HLEN).toString('hex')).toBe(frame({ src: VIP4, dst: LINK_CLIENT4, sport: 80, dport: 42000 }).subarray(P.ETH_HLEN).toString('hex'));
    });
  });

  describe('a frontend without backends', () => {
    function expectRst(pkt: Buffer, seq: number, ack: number, flags: number): void {
      const r = runPkt(pkt);
      expect(r.retval).toBe(XDP_TX);
      const out = r.packet;
      const inIp = P.ipView(pkt);
      const ip = P.ipView(out);
      expect(out.subarray(0, 6).equals(pkt.subarray(6, 12))).toBe(true);
      expect(out.subarray(6, 12).equals(pkt.subarray(0, 6))).toBe(true);
      expect(out.length).toBe(P.ETH_HLEN + ip.headerLen + 20);
      expect(ip.totalLen).toBe(ip.headerLen + 20);
      expect(ip.src.equals(inIp.dst) && ip.dst.equals(inIp.src)).toBe(true);
      expect(P.ports(out)).toEqual({ sport: P.ports(pkt).dport, dport: P.ports(pkt).sport });
      const th = out.subarray(P.ETH_HLEN + ip.headerLen);
      expect({ seq: th.readUInt32BE(4), ack: th.readUInt32BE(8), doff: th[12] >> 4, flags: th[13] }).toEqual({ seq, ack, doff: 5, flags });
      if (ip.version === 4) expect(P.ipv4HeaderChecksumOk(out)).toBe(true);
      expect(P.l4ChecksumOk(out)).toBe(true);
    }

    test('TCP is answered with a RST (IPv4 with options, IPv6), and counted', () => {
      service(frontend(VIP4, 80, 'TCP', 1), []);
      service(frontend(VIP6, 80, 'TCP', 2), []);
      // A SYN carrying 5 bytes: the RST acknowledges SYN + data.
      expectRst(P.tcpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 80 }, { seq: 7000, payload: Buffer.from('hello') }, { options: Buffer.from([1, 1, 1, 0]) }), 0, 7006, P.TCP_RST | P.TCP_ACK);
      // A segment with ACK: the RST takes its acknowledgment number as sequence.
      expectRst(P.tcpFrame({ src: CLIENT6, dst: VIP6, sport: 40000, dport: 80 }, { seq: 5, ack: 99999, flags: P.TCP_ACK | P.TCP_PSH, payload: Buffer.from('x') }), 99999, 0, P.TCP_RST);
      expect(drops(t.fx, 'no_service_backend')).toBe(2);
    });

    test('UDP is answered with an ICMP port unreachable quoting it (IPv4 with options, IPv6), and counted', () => {
      service(frontend(VIP4, 53, 'UDP', 1), []);
      service(frontend(VIP6, 53, 'UDP', 2), []);
      const v4 = P.udpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 53 }, Buffer.from('a query of some length'));
      const withOptions = P.ethernet(P.NODE_MAC, P.CLIENT_MAC, P.ETH_P_IP, P.ipv4({ src: CLIENT4, dst: VIP4, proto: P.IPPROTO_UDP, payload: v4.subarray(P.ETH_HLEN + 20), options: Buffer.from([0x94, 0x04, 0x00, 0x00, 1, 1, 1, 0]) }));
      const v6 = P.udpFrame({ src: CLIENT6, dst: VIP6, sport: 40000, dport: 53 }, Buffer.alloc(300, 7));
      for (const pkt of [v4, withOptions, v6]) {
        const r = runPkt(pkt);
        expect(r.retval).toBe(XDP_TX);
        expect(r.packet.toString('hex')).toBe(P.portUnreachable(pkt).toString('hex'));
      }
      expect(drops(t.fx, 'no_service_backend')).toBe(3);
    });

    test('a RST is not answered (RFC 9293 3.10.7.1, as the kernel REJECT does): dropped and counted', () => {
      service(frontend(VIP4, 80, 'TCP', 1), []);
      service(frontend(VIP6, 80, 'TCP', 2), []);
      expectUntouched(P.tcpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 80 }, { flags: P.TCP_RST }), XDP_DROP);
      expectUntouched(P.tcpFrame({ src: CLIENT6, dst: VIP6, sport: 40000, dport: 80 }, { flags: P.TCP_RST | P.TCP_ACK, ack: 5 }), XDP_DROP);
      expect(drops(t.fx, 'no_service_backend')).toBe(2);
    });

    test('with the drop action, UDP and TCP are dropped and counted', () => {
      service(frontend(VIP4, 53, 'UDP', 1, { noBackend: 'drop' }), []);
      service(frontend(VIP4, 80, 'TCP', 2, { noBackend: 'drop' }), []);
      expectUntouched(P.udpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 53 }), XDP_DROP);
      expectUntouched(P.tcpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 80 }), XDP_DROP);
      expect(drops(t.fx, 'no_service_backend')).toBe(2);
    });
  });

  describe('backend choice', () => {
    const A = { id: 1, addr: LOCAL_A, port: 8080 };
    const B = { id: 2, addr: LOCAL_B, port: 8080 };
    const backendOf = (sport: number, src = CLIENT4) => P.ipView(runPkt(P.tcpFrame({ src, dst: VIP4, sport, dport: 80 })).packet).dst.join('.');

    test('an established flow keeps its backend when the table changes; a new flow re-hashes', () => {
      service(frontend(VIP4, 80, 'TCP', 1), [A]);
      expect(backendOf(41000)).toBe(LOCAL_A);
      t.fx.dp.updateBackends([{ ...B, svcId: 1 }]);
      t.fx.dp.setMaglevTable(1, table(B.id));
      expect(backendOf(41000)).toBe(LOCAL_A);
      expect(backendOf(41001)).toBe(LOCAL_B);
      // Once its backend is gone the flow moves to the current table.
      t.fx.dp.deleteBackends([A.id]);
      expect(backendOf(41000)).toBe(LOCAL_B);
    });

    test('Maglev spreads clients by their source; affinity keeps a client on one backend across source ports', () => {
      service(frontend(VIP4, 80, 'TCP', 1), [A, B]);
      const spread = new Set(Array.from({ length: 32 }, (_, i) => backendOf(42000 + i)));
      expect(spread).toEqual(new Set([LOCAL_A, LOCAL_B]));

      t.fx.dp.updateFrontends([frontend(VIP4, 80, 'TCP', 1, { count: 2, affinityTimeout: 300 })]);
      const first = backendOf(43000, '198.19.7.7');
      for (let i = 1; i < 32; i++) expect(backendOf(43000 + i, '198.19.7.7')).toBe(first);
    });
  });

  describe('more backend choice', () => {
    const A = { id: 1, addr: LOCAL_A, port: 8080 };
    const B = { id: 2, addr: LOCAL_B, port: 8080 };
    const backendOf = (sport: number, src = CLIENT4) => P.ipView(runPkt(P.tcpFrame({ src, dst: VIP4, sport, dport: 80 })).packet).dst.join('.');

    test('random: new flows spread over the backends; a flow keeps its pick', () => {
      service(frontend(VIP4, 80, 'TCP', 1, { algorithm: 'random' }), [A, B]);
      // Random picks: the same client port twice in a row must still agree (the flow table), and 64 flows use both.
      const picks = Array.from({ length: 64 }, (_, i) => backendOf(44000 + i));
      expect(new Set(picks)).toEqual(new Set([LOCAL_A, LOCAL_B]));
      picks.forEach((b, i) => expect(backendOf(44000 + i)).toBe(b));
      // Each flow missed the flow table once, on its first packet; the second packets hit it.
      expect(t.fx.dp.readFlowMisses()).toBe(64);
      expect(t.fx.dp.readStats()).toEqual([{ svcId: 1, packets: 128, bytes: expect.any(Number) }]);
    });

    test('affinity expires after its timeout: the next connection is hashed afresh', async () => {
      service(frontend(VIP4, 80, 'TCP', 1, { affinityTimeout: 1 }), [A, B]);
      // The same backends and table without affinity: what hashing alone picks.
      service(frontend(VIP4, 81, 'TCP', 2), [{ ...A, id: 3 }, { ...B, id: 4 }]);
      const client = '198.19.7.8';
      const hashed = (sport: number) => P.ipView(runPkt(P.tcpFrame({ src: client, dst: VIP4, sport, dport: 81 })).packet).dst.join('.');
      const first = backendOf(45000, client);
      const others = Array.from({ length: 64 }, (_, i) => 47000 + i).filter((sport) => hashed(sport) !== first);
      expect(others.length).toBeGreaterThan(1);
      expect(backendOf(others[0], client)).toBe(first); // affinity wins over the hash
      await new Promise((r) => setTimeout(r, 2100)); // past 1 s on a jiffy clock
      expect(backendOf(others[1], client)).toBe(hashed(others[1]));
    });
  });

  test('what is written reads back; deletions of absent entries are no error', () => {
    const fe = frontend(VIP4, 80, 'TCP', 7, { sourceRanges: true, mode: 'snat', algorithm: 'random', noBackend: 'drop', affinityTimeout: 60 });
    service(fe, [{ id: 3, addr: LOCAL_A, port: 8080 }, { id: 4, addr: '198.18.60.1', port: 8080, nodeAddr: PEER4 }]);
    t.fx.dp.updateSourceRanges([{ svcId: 7, cidr: '198.19.5.0/24' }, { svcId: 7, cidr: 'fd00:198:18:5::/64' }]);
    expect(t.fx.dp.dumpFrontends()).toEqual([{ ...fe, count: 2 }]);
    expect(t.fx.dp.dumpBackends()).toEqual([
      { id: 3, addr: LOCAL_A, port: 8080, svcId: 7 },
      { id: 4, addr: '198.18.60.1', port: 8080, svcId: 7, nodeAddr: PEER4 },
    ]);
    expect(t.fx.dp.dumpSourceRanges().sort((a, b) => a.cidr.localeCompare(b.cidr))).toEqual([
      { svcId: 7, cidr: '198.19.5.0/24' },
      { svcId: 7, cidr: 'fd00:198:18:5::/64' },
    ]);
    expect(t.fx.dp.dumpMaglevTableIds()).toEqual([7]);
    expect(t.fx.dp.readMaglevTable(7)).toEqual(table(3, 4));
    expect(t.fx.dp.readMaglevTable(8)).toEqual([]);

    t.fx.dp.deleteSourceRanges([{ svcId: 7, cidr: '198.19.5.0/24' }, { svcId: 9, cidr: '198.19.0.0/16' }]);
    t.fx.dp.deleteMaglevTables([7, 8]);
    t.fx.dp.deleteBackends([3]);
    expect(t.fx.dp.dumpSourceRanges()).toEqual([{ svcId: 7, cidr: 'fd00:198:18:5::/64' }]);
    expect(t.fx.dp.dumpMaglevTableIds()).toEqual([]);
    expect(t.fx.dp.dumpBackends().map((b) => b.id)).toEqual([4]);
  });

  test('source ranges: a client outside them is dropped and counted, one inside is served', () => {
    service(frontend(VIP4, 80, 'TCP', 1, { sourceRanges: true }), [{ id: 1, addr: LOCAL_A, port: 8080 }]);
    service(frontend(VIP6, 80, 'TCP', 2, { sourceRanges: true }), [{ id: 2, addr: 'fd00:198:18:50::1', port: 8080 }]);
    t.fx.dp.updateSourceRanges([
      { svcId: 1, cidr: '198.19.5.0/24' },
      { svcId: 2, cidr: 'fd00:198:18:5::/64' },
    ]);
    expect(runPkt(P.tcpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 80 })).retval).toBe(XDP_PASS);
    expect(runPkt(P.tcpFrame({ src: CLIENT6, dst: VIP6, sport: 40000, dport: 80 })).retval).toBe(XDP_PASS);
    const denied = P.tcpFrame({ src: '198.19.6.5', dst: VIP4, sport: 40000, dport: 80 });
    expectUntouched(denied, XDP_DROP);
    expectUntouched(P.tcpFrame({ src: 'fd00:198:18:6::5', dst: VIP6, sport: 40000, dport: 80 }), XDP_DROP);
    expect(drops(t.fx, 'source_range_denied')).toBe(2);
  });
});
