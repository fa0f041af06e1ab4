// IP fragments through the edge programs, fragment by fragment through
// BPF_PROG_TEST_RUN (bpf/include/kpr_edge_frag.h): a 4000-byte UDP datagram
// cut as a sender on a 1500-byte link cuts it (first, middle and last
// fragment), for each path, both families. What leaves is reassembled and
// compared with the whole datagram built afresh for its new ends, so that
// every checksum, the L4 one of the whole datagram included, is checked.
import { EdgeBackend, EdgeFrontend, ProgTestRunResult } from '../../lib/datapath/native';
import { checksumFaults } from './checksums';
import * as P from './packets';
import {
  CLIENT4, CLIENT6, dropCount, eachEdgeFixture, expectUnchanged, frontend, inSnatPorts, LINK_CLIENT4, LINK_CLIENT6, NODE4,
  NODE6, PEER4, PEER6, PEER_MAC, PROG, programService, TC_ACT_OK, TC_EGRESS, TC_INGRESS, VIP4, VIP6, XDP_DROP, XDP_PASS, XDP_TX,
} from './xdp_fixture';

const M = 251;
/** UDP header and payload of a 4000-byte IPv4 datagram. */
const UDP_LEN = 3980;
const PAYLOAD = Buffer.from(Array.from({ length: UDP_LEN - 8 }, (_, i) => (i * 7 + 3) & 0xff));
/** Fragment payloads on a 1500-byte link: IPv4 after its 20-byte header, IPv6 after 40 + 8 (rounded down to 8). */
const chunkOf = (addr: string) => (addr.includes(':') ? 1448 : 1480);

interface Family {
  name: string;
  vip: string;
  client: string;
  /** A client on the fixture's link: the FIB can send a snat reply to it. */
  linkClient: string;
  node: string;
  peer: string;
  local: string;
  remote: string;
}

const FAMILIES: Family[] = [
  { name: 'IPv4', vip: VIP4, client: CLIENT4, linkClient: LINK_CLIENT4, node: NODE4, peer: PEER4, local: '198.18.50.2', remote: '198.18.60.2' },
  { name: 'IPv6', vip: VIP6, client: CLIENT6, linkClient: LINK_CLIENT6, node: NODE6, peer: PEER6, local: 'fd00:198:18:50::2', remote: 'fd00:198:18:60::2' },
];

/** The fixture's link MTU, and fragments with room for kpr's DSR tunnel header within it. */
const FIXTURE_MTU = 1500;
const DSR_CHUNK = 1376;

/** The 4000-byte datagram of flow, whole. */
const whole = (f: P.Flow) => P.udpFrame(f, PAYLOAD);
/** ... and in its fragments, with identification id. */
const fragmented = (f: P.Flow, id: number, chunk = chunkOf(f.src)) => P.fragmentFrame(whole(f), chunk, id);

/** The IP packet's bytes from the L4 header on (IPv4 header fields such as the identification differ after reassembly). */
const l4Hex = (frame: Buffer) => frame.subarray(P.ETH_HLEN + P.ipView(frame).headerLen).toString('hex');

/** What leaves reassembles to expected (built afresh for the new ends): same addresses, same L4 header and data, every checksum right. */
function expectDatagram(outputs: Buffer[], expected: Buffer): void {
  for (const out of outputs) expect(checksumFaults(out)).toEqual([]);
  const got = P.reassemble(outputs);
  const [g, e] = [P.ipView(got), P.ipView(expected)];
  expect([P.formatAddr(g.src), P.formatAddr(g.dst)]).toEqual([P.formatAddr(e.src), P.formatAddr(e.dst)]);
  expect(l4Hex(got)).toBe(l4Hex(expected));
  expect(P.l4ChecksumOk(got)).toBe(true);
}

/** The inner packet of kpr's tunnel, behind the frame's Ethernet header. */
function untunnelled(out: Buffer): Buffer {
  const outer = P.ipView(out).version === 4 ? 28 : 64;
  return Buffer.concat([out.subarray(0, P.ETH_HLEN), out.subarray(P.ETH_HLEN + outer)]);
}

describe('IP fragments through the edge LB (BPF_PROG_TEST_RUN)', () => {
  const t = eachEdgeFixture('xdp-frag', { maglevTableSize: M });
  const runXdp = (pkt: Buffer): ProgTestRunResult => t.fx.dp.progTestRun(PROG, pkt, 1, { netns: t.fx.netns, ifindex: t.fx.ifindex });
  const runTc = (prog: string, pkt: Buffer): ProgTestRunResult => t.fx.dp.progTestRun(prog, pkt, 1);
  const service = (fe: EdgeFrontend, backends: Omit<EdgeBackend, 'svcId'>[]) => programService(t.fx.dp, M, fe, backends);
  const drops = (reason: string) => dropCount(t.fx.dp, reason);
  /** Each frame through XDP must end with action; what left, in order. */
  const xdpAll = (frames: Buffer[], action: number) =>
    frames.map((f) => {
      const r = runXdp(f);
      expect(r.retval).toBe(action);
      return r.packet;
    });
  const expectXdpUntouched = (pkt: Buffer, action: number) => expectUnchanged(runXdp(pkt), pkt, action);
  const expectTcUntouched = (prog: string, pkt: Buffer) => expectUnchanged(runTc(prog, pkt), pkt, TC_ACT_OK);

  describe.each(FAMILIES)('$name', (fam) => {
    const flow = { src: fam.client, dst: fam.vip, sport: 40000, dport: 53 };

    test('a backend on this node: every fragment goes up to it, only the first rewritten at L4; one datagram counted', () => {
      service(frontend(fam.vip, 53, 'UDP', 1), [{ id: 1, addr: fam.local, port: 5353 }]);
      const frags = fragmented(flow, 0x4242);
      expect(frags).toHaveLength(3);
      const out = xdpAll(frags, XDP_PASS);
      expectDatagram(out, whole({ ...flow, dst: fam.local, dport: 5353 }));
      // The later ones keep their data byte for byte: the datagram's checksum is in the first.
      for (let i = 1; i < 3; i++) expect(out[i].subarray(P.fragmentOf(out[i])!.payloadAt).equals(frags[i].subarray(P.fragmentOf(frags[i])!.payloadAt))).toBe(true);
      expect(t.fx.dp.readStats()).toEqual([{ svcId: 1, packets: 1, bytes: frags[0].length }]);
    });

    test('DSR: every fragment in the tunnel to the backend node, naming the frontend', () => {
      service(frontend(fam.vip, 53, 'UDP', 1), [{ id: 1, addr: fam.remote, port: 5353, nodeAddr: fam.peer }]);
      const out = xdpAll(fragmented(flow, 0x4243, DSR_CHUNK), XDP_TX);
      for (const o of out) {
        expect(o.subarray(0, 6).equals(P.macBytes(PEER_MAC))).toBe(true);
        const inner = untunnelled(o).subarray(P.ETH_HLEN);
        expect(o.subarray(P.ETH_HLEN).toString('hex')).toBe(P.dsrTunnel(inner, fam.node, fam.peer, { addr: fam.vip, port: 53 }).toString('hex'));
      }
      expectDatagram(out.map(untunnelled), whole({ ...flow, dst: fam.remote, dport: 5353 }));
    });

    test('DSR: a first fragment too big for the tunnel is answered as a whole packet is, and its later fragments are dropped', () => {
      service(frontend(fam.vip, 53, 'UDP', 1), [{ id: 1, addr: fam.remote, port: 5353, nodeAddr: fam.peer }]);
      const [first, ...later] = fragmented(flow, 0x4250);
      const r = runXdp(first);
      expect(r.retval).toBe(XDP_TX);
      expect(r.packet.toString('hex')).toBe(P.tooBig(first, FIXTURE_MTU - (fam.name === 'IPv4' ? 28 : 64)).toString('hex'));
      for (const f of later) expectXdpUntouched(f, XDP_DROP);
      expect([drops('frag_needed'), drops('frag_not_found')]).toEqual([1, 2]);
    });

    test("snat: the fragments leave from this node on the flow's port, and the reply's fragments reach the client from the frontend", () => {
      service(frontend(fam.vip, 53, 'UDP', 1, { mode: 'snat' }), [{ id: 1, addr: fam.peer, port: 5353, nodeAddr: fam.peer }]);
      const client = { ...flow, src: fam.linkClient };
      const out = xdpAll(fragmented(client, 0x4244), XDP_TX);
      const snatPort = P.ports(out[0]).sport;
      expect(inSnatPorts(snatPort)).toBe(true);
      expectDatagram(out, whole({ src: fam.node, dst: fam.peer, sport: snatPort, dport: 5353 }));

      const reply = xdpAll(fragmented({ src: fam.peer, dst: fam.node, sport: 5353, dport: snatPort }, 0x5151), XDP_TX);
      for (const r of reply) expect(r.subarray(0, 6).equals(P.macBytes(P.CLIENT_MAC))).toBe(true);
      expectDatagram(reply, whole({ src: fam.vip, dst: fam.linkClient, sport: 53, dport: 40000 }));
    });

    test('a later fragment before its first, or of a datagram never begun, is dropped and counted; the rest follow their first', () => {
      service(frontend(fam.vip, 53, 'UDP', 1), [{ id: 1, addr: fam.local, port: 5353 }]);
      const [first, middle, last] = fragmented(flow, 0x4245);
      expectXdpUntouched(middle, XDP_DROP);
      expect(drops('frag_not_found')).toBe(1);
      expect(runXdp(first).retval).toBe(XDP_PASS);
      const after = runXdp(last);
      expect(after.retval).toBe(XDP_PASS);
      expect(P.formatAddr(P.ipView(after.packet).dst)).toBe(P.formatAddr(P.addrBytes(fam.local)));
      // The same datagram's pieces under another identification: no first fragment for them.
      expectXdpUntouched(fragmented(flow, 0x4246)[1], XDP_DROP);
      expect(drops('frag_not_found')).toBe(2);
    });

    test("a datagram that is not kpr's passes untouched, its later fragments too; so do later fragments of other protocols", () => {
      service(frontend(fam.vip, 53, 'UDP', 1), [{ id: 1, addr: fam.local, port: 5353 }]);
      for (const other of [{ ...flow, dport: 54 }, { ...flow, dst: fam.node }]) {
        for (const f of fragmented(other, 0x4247)) expectXdpUntouched(f, XDP_PASS);
      }
      // A later fragment of ICMP, its first never seen: kpr balances TCP and UDP only.
      expectXdpUntouched(asProtocol(fragmented(flow, 0x4248)[1], fam.name === 'IPv4' ? 1 : 58), XDP_PASS);
      expect(drops('frag_not_found')).toBe(0);
    });

    test('a first fragment dropped (source range) or answered (no backend) leaves its later fragments dropped', () => {
      service(frontend(fam.vip, 53, 'UDP', 1, { sourceRanges: true }), [{ id: 1, addr: fam.local, port: 5353 }]);
      service(frontend(fam.vip, 54, 'UDP', 2), []);
      const [first, ...later] = fragmented(flow, 0x4249);
      expectXdpUntouched(first, XDP_DROP);
      expect(drops('source_range_denied')).toBe(1);
      for (const f of later) expectXdpUntouched(f, XDP_DROP);
      expect(drops('frag_not_found')).toBe(2);

      const [first2, ...later2] = fragmented({ ...flow, dport: 54 }, 0x424a);
      const answer = runXdp(first2);
      expect(answer.retval).toBe(XDP_TX);
      expect(answer.packet.toString('hex')).toBe(P.portUnreachable(first2).toString('hex'));
      for (const f of later2) expectXdpUntouched(f, XDP_DROP);
      expect(drops('frag_not_found')).toBe(4);
    });

    test("tc egress: a local backend's reply in fragments leaves as the frontend's; later fragments of anything else leave as they are", () => {
      service(frontend(fam.vip, 53, 'UDP', 1), [{ id: 1, addr: fam.local, port: 5353 }]);
      expect(runXdp(P.udpFrame(flow)).retval).toBe(XDP_PASS);
      const reply = { src: fam.local, dst: fam.client, sport: 5353, dport: 40000 };
      const out = fragmented(reply, 0x6161).map((f) => {
        const r = runTc(TC_EGRESS, f);
        expect(r.retval).toBe(TC_ACT_OK);
        return r.packet;
      });
      expectDatagram(out, whole({ src: fam.vip, dst: fam.client, sport: 53, dport: 40000 }));
      // A later fragment whose first did not leave here, and one of another flow of the backend.
      expectTcUntouched(TC_EGRESS, fragmented(reply, 0x6162)[1]);
      const other = { ...reply, dport: 40001 };
      const [otherFirst, otherLater] = fragmented(other, 0x6163);
      expectTcUntouched(TC_EGRESS, otherFirst);
      expectTcUntouched(TC_EGRESS, otherLater);
    });

    test("tc ingress: a DSR tunnel's fragments are opened; the first's flow is remembered, so the reply's fragments leave as the frontend's", () => {
      const inner = fragmented({ src: fam.client, dst: fam.local, sport: 41000, dport: 5353 }, 0x7171);
      // The later fragments first: they need nothing remembered to be opened.
      for (const f of [inner[1], inner[2], inner[0]]) {
        const tunnelled = Buffer.concat([f.subarray(0, P.ETH_HLEN), P.dsrTunnel(f.subarray(P.ETH_HLEN), fam.peer, fam.node, { addr: fam.vip, port: 53 })]);
        const r = runTc(TC_INGRESS, tunnelled);
        expect(r.retval).toBe(TC_ACT_OK);
        expect(r.packet.equals(f)).toBe(true);
      }
      const out = fragmented({ src: fam.local, dst: fam.client, sport: 5353, dport: 41000 }, 0x7272).map((f) => runTc(TC_EGRESS, f).packet);
      expectDatagram(out, whole({ src: fam.vip, dst: fam.client, sport: 53, dport: 41000 }));
    });
  });

  test('a UDP/IPv4 datagram without checksum keeps none, in fragments', () => {
    service(frontend(VIP4, 53, 'UDP', 1), [{ id: 1, addr: '198.18.50.2', port: 5353 }]);
    const frame = P.udpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 53 }, PAYLOAD, true);
    const out = xdpAll(P.fragmentFrame(frame, 1480, 0x4343), XDP_PASS);
    expect(P.reassemble(out).readUInt16BE(P.ETH_HLEN + 20 + 6)).toBe(0);
  });

  test('an IPv6 atomic fragment (offset 0, no more) is a whole datagram, balanced by its ports', () => {
    service(frontend(VIP6, 53, 'UDP', 1), [{ id: 1, addr: 'fd00:198:18:50::2', port: 5353 }]);
    const small = P.udpFrame({ src: CLIENT6, dst: VIP6, sport: 40000, dport: 53 }, Buffer.from('atomic'));
    const [atomic] = P.fragmentFrame(small, 64, 0x4444);
    expect(P.fragmentOf(atomic)).toMatchObject({ offset: 0, more: false });
    const r = runXdp(atomic);
    expect(r.retval).toBe(XDP_PASS);
    expect(checksumFaults(r.packet)).toEqual([]);
    expect(P.formatAddr(P.ipView(r.packet).dst)).toBe('fd00:198:18:50:0:0:0:2');
    expect(r.packet.readUInt16BE(P.fragmentOf(atomic)!.payloadAt + 2)).toBe(5353);
  });
});

/** The fragment as one of a datagram of another protocol: IPv4's protocol
 *  field (and header checksum), IPv6's Fragment header's next header. */
function asProtocol(frag: Buffer, proto: number): Buffer {
  const out = Buffer.from(frag);
  if (P.ipView(out).version === 6) {
    out[P.ETH_HLEN + 40] = proto;
    return out;
  }
  out[P.ETH_HLEN + 9] = proto;
  out.writeUInt16BE(0, P.ETH_HLEN + 10);
  out.writeUInt16BE(P.internetChecksum(out.subarray(P.ETH_HLEN, P.ETH_HLEN + 20)), P.ETH_HLEN + 10);
  return out;
}
