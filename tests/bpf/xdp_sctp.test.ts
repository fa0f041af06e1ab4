// SCTP at the edge, packet by packet through BPF_PROG_TEST_RUN (this
// machine's kernel has no SCTP module, so no socket could send it). Every
// path that rewrites a port must leave the CRC32c right (kpr_nat.h,
// kpr_crc32c.h): what leaves is compared byte for byte with the packet built
// afresh for its new ends, whose checksum tests/bpf/crc32c.ts computes bit by
// bit, and that reference is itself held to RFC 3720's vectors
// (tests/unit/crc32c.test.ts).
import { EdgeBackend, EdgeFrontend, ProgTestRunResult } from '../../lib/datapath/native';
import { checksumFaults } from './checksums';
import { Rng } from './fuzz_packets';
import * as P from './packets';
import {
  CLIENT4, CLIENT6, dropCount, eachEdgeFixture, expectUnchanged, frontend, inSnatPorts, LINK_CLIENT4, LINK_CLIENT6, NODE4,
  NODE6, PEER4, PEER6, PEER_MAC, PROG, programService, TC_ACT_OK, TC_EGRESS, TC_INGRESS, VIP4, VIP6, XDP_DROP, XDP_PASS, XDP_TX,
} from './xdp_fixture';

const M = 251;
const FAMILIES = [
  { name: 'IPv4', vip: VIP4, client: CLIENT4, linkClient: LINK_CLIENT4, node: NODE4, peer: PEER4, local: '198.18.50.3', remote: '198.18.60.3' },
  { name: 'IPv6', vip: VIP6, client: CLIENT6, linkClient: LINK_CLIENT6, node: NODE6, peer: PEER6, local: 'fd00:198:18:50::3', remote: 'fd00:198:18:60::3' },
];
/** S1AP's port, a common SCTP NodePort, and a backend port that differs. */
const FE_PORT = 36412;
const BE_PORT = 38412;

const behindEthernet = (frame: Buffer) => frame.subarray(P.ETH_HLEN).toString('hex');

/** Chunks of a DATA-like shape: any bytes, a multiple of 4 long (RFC 9260 3.2). */
const chunksOf = (seed: number, len: number): Buffer => new Rng(seed).bytes(len);

describe('SCTP at the edge (BPF_PROG_TEST_RUN)', () => {
  const t = eachEdgeFixture('sctp', { maglevTableSize: M });
  const runPkt = (pkt: Buffer): ProgTestRunResult => t.fx.dp.progTestRun(PROG, pkt, 1, { netns: t.fx.netns, ifindex: t.fx.ifindex });
  const runTc = (prog: string, pkt: Buffer): ProgTestRunResult => t.fx.dp.progTestRun(prog, pkt, 1);
  const service = (fe: EdgeFrontend, backends: Omit<EdgeBackend, 'svcId'>[]) => programService(t.fx.dp, M, fe, backends);
  const drops = (reason: string) => dropCount(t.fx.dp, reason);

  test('a port rewrite gives the CRC32c computed afresh: the INIT of sport 5000 from port 80 to 8080', () => {
    service(frontend(VIP4, 80, 'SCTP', 1), [{ id: 1, addr: FAMILIES[0].local, port: 8080 }]);
    const r = runPkt(P.sctpFrame({ src: CLIENT4, dst: VIP4, sport: 5000, dport: 80 }));
    expect(r.retval).toBe(XDP_PASS);
    // 0xAFBB3701 before, 0x4D963940 after (tests/unit/crc32c.test.ts).
    expect(r.packet.subarray(P.ETH_HLEN + 20).toString('hex')).toBe('13881f90000000004039964d01000014010203040000ffff000a000a01020304');
  });

  describe.each(FAMILIES)('$name', (f) => {
    test('to a backend on this node on another port: 400 packets of 12 to 1400 bytes, each CRC right; replies leave as the frontend (tc)', () => {
      service(frontend(f.vip, FE_PORT, 'SCTP', 1), [{ id: 1, addr: f.local, port: BE_PORT }]);
      for (let i = 0; i < 400; i++) {
        const chunks = chunksOf(i, 4 * ((i * 37) % 348));
        const sport = 1024 + ((i * 7919) % 64000);
        const vtag = (i * 2654435761) >>> 0;
        const r = runPkt(P.sctpFrame({ src: f.client, dst: f.vip, sport, dport: FE_PORT }, chunks, vtag));
        expect(r.retval).toBe(XDP_PASS);
        expect(behindEthernet(r.packet)).toBe(behindEthernet(P.sctpFrame({ src: f.client, dst: f.local, sport, dport: BE_PORT }, chunks, vtag)));
        const reply = runTc(TC_EGRESS, P.sctpFrame({ src: f.local, dst: f.client, sport: BE_PORT, dport: sport }, chunks, ~vtag >>> 0));
        expect(reply.retval).toBe(TC_ACT_OK);
        expect(behindEthernet(reply.packet)).toBe(behindEthernet(P.sctpFrame({ src: f.vip, dst: f.client, sport: FE_PORT, dport: sport }, chunks, ~vtag >>> 0)));
      }
      expect(t.fx.dp.readStats()).toEqual([{ svcId: 1, packets: 400, bytes: expect.any(Number) }]);
    });

    test('on the same port only the address changes, and the CRC, which does not cover it, stays as it was', () => {
      service(frontend(f.vip, FE_PORT, 'SCTP', 1), [{ id: 1, addr: f.local, port: FE_PORT }]);
      const pkt = P.sctpFrame({ src: f.client, dst: f.vip, sport: 40000, dport: FE_PORT }, chunksOf(1, 64), 7);
      const r = runPkt(pkt);
      expect(behindEthernet(r.packet)).toBe(behindEthernet(P.sctpFrame({ src: f.client, dst: f.local, sport: 40000, dport: FE_PORT }, chunksOf(1, 64), 7)));
      const crcAt = P.ETH_HLEN + P.ipView(pkt).headerLen + 8;
      expect(r.packet.readUInt32LE(crcAt)).toBe(pkt.readUInt32LE(crcAt));
    });

    test('DSR: the packet for the backend in the tunnel, its CRC right; the backend node opens it and answers as the frontend', () => {
      service(frontend(f.vip, FE_PORT, 'SCTP', 1), [{ id: 1, addr: f.remote, port: BE_PORT, nodeAddr: f.peer }]);
      const chunks = chunksOf(2, 300);
      const r = runPkt(P.sctpFrame({ src: f.client, dst: f.vip, sport: 40001, dport: FE_PORT }, chunks));
      expect(r.retval).toBe(XDP_TX);
      expect(r.packet.subarray(0, 6).equals(P.macBytes(PEER_MAC))).toBe(true);
      const inner = P.sctpFrame({ src: f.client, dst: f.remote, sport: 40001, dport: BE_PORT }, chunks);
      const tunnel = P.dsrTunnel(inner.subarray(P.ETH_HLEN), f.node, f.peer, { addr: f.vip, port: FE_PORT });
      expect(r.packet.subarray(P.ETH_HLEN).toString('hex')).toBe(tunnel.toString('hex'));
      expect(checksumFaults(r.packet)).toEqual([]);

      // On the backend's node (the same programs, this node's address the tunnel's end).
      const arriving = Buffer.concat([inner.subarray(0, P.ETH_HLEN), P.dsrTunnel(inner.subarray(P.ETH_HLEN), f.peer, f.node, { addr: f.vip, port: FE_PORT })]);
      const opened = runTc(TC_INGRESS, arriving);
      expect(opened.retval).toBe(TC_ACT_OK);
      expect(opened.packet.equals(inner)).toBe(true);
      const reply = runTc(TC_EGRESS, P.sctpFrame({ src: f.remote, dst: f.client, sport: BE_PORT, dport: 40001 }, chunks, 9));
      expect(behindEthernet(reply.packet)).toBe(behindEthernet(P.sctpFrame({ src: f.vip, dst: f.client, sport: FE_PORT, dport: 40001 }, chunks, 9)));
    });

    test('snat: on a snat port of its own, and back to the client, both CRCs right', () => {
      service(frontend(f.vip, FE_PORT, 'SCTP', 1, { mode: 'snat' }), [{ id: 1, addr: f.peer, port: BE_PORT, nodeAddr: f.peer }]);
      const chunks = chunksOf(3, 128);
      const out = runPkt(P.sctpFrame({ src: f.linkClient, dst: f.vip, sport: 42000, dport: FE_PORT }, chunks, 5));
      expect(out.retval).toBe(XDP_TX);
      const snat = P.ports(out.packet).sport;
      expect(inSnatPorts(snat)).toBe(true);
      expect(behindEthernet(out.packet)).toBe(behindEthernet(P.sctpFrame({ src: f.node, dst: f.peer, sport: snat, dport: BE_PORT }, chunks, 5)));
      const back = runPkt(P.sctpFrame({ src: f.peer, dst: f.node, sport: BE_PORT, dport: snat }, chunks, 6));
      expect(back.retval).toBe(XDP_TX);
      expect(behindEthernet(back.packet)).toBe(behindEthernet(P.sctpFrame({ src: f.vip, dst: f.linkClient, sport: FE_PORT, dport: 42000 }, chunks, 6)));
    });

    test('no backend: an ICMP port unreachable quoting it, counted', () => {
      service(frontend(f.vip, FE_PORT, 'SCTP', 1), []);
      const pkt = P.sctpFrame({ src: f.client, dst: f.vip, sport: 40002, dport: FE_PORT });
      const r = runPkt(pkt);
      expect(r.retval).toBe(XDP_TX);
      expect(r.packet.toString('hex')).toBe(P.portUnreachable(pkt).toString('hex'));
      expect(drops('no_service_backend')).toBe(1);
    });

    test('fragments: where the port would change the first is dropped (sctp_fragment) and the rest follow it; where it stays they pass', () => {
      service(frontend(f.vip, FE_PORT, 'SCTP', 1), [{ id: 1, addr: f.local, port: BE_PORT }]);
      service(frontend(f.vip, FE_PORT + 1, 'SCTP', 2), [{ id: 2, addr: f.local, port: FE_PORT + 1 }]);
      const chunks = chunksOf(4, 3000);
      const cut = (dport: number, id: number) => P.fragmentFrame(P.sctpFrame({ src: f.client, dst: f.vip, sport: 40003, dport }, chunks), 1200, id);
      const [first, ...later] = cut(FE_PORT, 77);
      expectUnchanged(runPkt(first), first, XDP_DROP);
      expect(drops('sctp_fragment')).toBe(1);
      for (const piece of later) expectUnchanged(runPkt(piece), piece, XDP_DROP);
      expect(drops('frag_not_found')).toBe(later.length);

      const pieces = cut(FE_PORT + 1, 78);
      const outs = pieces.map((piece) => runPkt(piece));
      expect(outs.map((o) => o.retval)).toEqual(pieces.map(() => XDP_PASS));
      const got = P.reassemble(outs.map((o) => o.packet));
      const want = P.sctpFrame({ src: f.client, dst: f.local, sport: 40003, dport: FE_PORT + 1 }, chunks);
      expect(got.subarray(P.ETH_HLEN + P.ipView(got).headerLen).equals(want.subarray(P.ETH_HLEN + P.ipView(want).headerLen))).toBe(true);
      expect(checksumFaults(got)).toEqual([]);
    });

    test('a packet shorter than the common header, to a frontend, is dropped as invalid; not to one, passed', () => {
      service(frontend(f.vip, FE_PORT, 'SCTP', 1), [{ id: 1, addr: f.local, port: BE_PORT }]);
      const short = (dst: string) => {
        const head = P.sctp(40004, FE_PORT, Buffer.alloc(0)).subarray(0, 8);
        return f.vip.includes(':')
          ? P.ethernet(P.NODE_MAC, P.CLIENT_MAC, P.ETH_P_IPV6, P.ipv6({ src: f.client, dst, nextHeader: P.IPPROTO_SCTP, payload: head }))
          : P.ethernet(P.NODE_MAC, P.CLIENT_MAC, P.ETH_P_IP, P.ipv4({ src: f.client, dst, proto: P.IPPROTO_SCTP, payload: head }));
      };
      expectUnchanged(runPkt(short(f.vip)), short(f.vip), XDP_DROP);
      expect(drops('invalid_packet')).toBe(1);
      expectUnchanged(runPkt(short(f.remote)), short(f.remote), XDP_PASS);
    });
  });
});
