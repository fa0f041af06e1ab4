// The per-packet path's program, kpr_tc_pod_ingress (bpf/include/kpr_pod_path.h),
// through BPF_PROG_TEST_RUN: a pod's packet to a frontend of the pods' view
// gets a backend as the edge LB picks one and its destination rewritten,
// every checksum right; kpr_tc_dsr_egress turns the reply back. The two
// views of one address stay apart: XDP serves only the edge view, the path
// only the pods'.
import * as P from './packets';
import { checksumFaults } from './checksums';
import { dropCount, eachEdgeFixture, expectUnchanged, frontend, PEER4, PEER6, PROG, programService, TC_ACT_OK, TC_EGRESS, VIP4, VIP6 } from './xdp_fixture';

const M = 251;
const POD_INGRESS = 'kpr_tc_pod_ingress';
const TC_ACT_SHOT = 2;
const TC_ACT_REDIRECT = 7;
const POD = { ipv4: '198.18.10.5', ipv6: 'fd00:198:18:a::5' };
const BACKENDS = {
  ipv4: [
    { id: 1, addr: '198.18.10.7', port: 8080 },
    { id: 2, addr: '198.18.11.7', port: 8080, nodeAddr: PEER4 },
  ],
  ipv6: [
    { id: 3, addr: 'fd00:198:18:a::7', port: 8080 },
    { id: 4, addr: 'fd00:198:18:b::7', port: 8080, nodeAddr: PEER6 },
  ],
};
const VIP = { ipv4: VIP4, ipv6: VIP6 };
const FAMILIES = ['ipv4', 'ipv6'] as const;
/** From the pod's own address and port to dst:dport. */
const fromPod = (family: (typeof FAMILIES)[number], sport: number, dport = 80) => ({ src: POD[family], dst: VIP[family], sport, dport });

describe('per-packet path: kpr_tc_pod_ingress (BPF_PROG_TEST_RUN)', () => {
  // Flow and reverse maps with room for every flow of a test.
  const t = eachEdgeFixture('podi', { maglevTableSize: M, flowMax: 1 << 15 });
  const pod = (fe: ReturnType<typeof frontend>) => ({ ...fe, scope: 'pod' as const });
  /** The pods' view of VIP:80/TCP of family on service svcId, with its backends. */
  const podService = (family: (typeof FAMILIES)[number], svcId: number, proto: 'TCP' | 'UDP' | 'SCTP' = 'TCP', port = 80) =>
    programService(t.fx.dp, M, pod(frontend(VIP[family], port, proto, svcId)), BACKENDS[family].map((b) => ({ ...b, id: b.id + 10 * svcId })));

  test.each(FAMILIES)('%s: 10000 flows from a pod, each to a backend with every checksum right; the same flows again, the same backends; replies leave as the frontend', (family) => {
    podService(family, 1);
    const flows = Array.from({ length: 10000 }, (_, i) => fromPod(family, 10000 + i));
    const outs = t.fx.dp.progTestRunBatch(POD_INGRESS, flows.map((f) => P.tcpFrame(f, { flags: P.TCP_SYN })));
    const chosen = new Map<string, number>();
    outs.forEach((r, i) => {
      expect(r.retval).toBe(TC_ACT_OK);
      const dst = P.formatAddr(P.ipView(r.packet).dst);
      chosen.set(dst, (chosen.get(dst) ?? 0) + 1);
      expect(P.formatAddr(P.ipView(r.packet).src)).toBe(P.formatAddr(P.addrBytes(POD[family])));
      expect(P.ports(r.packet)).toEqual({ sport: flows[i].sport, dport: 8080 });
      expect(checksumFaults(r.packet)).toEqual([]);
    });
    expect([...chosen.keys()].sort()).toEqual(BACKENDS[family].map((b) => P.formatAddr(P.addrBytes(b.addr))).sort());
    for (const n of chosen.values()) expect(n).toBeGreaterThan(flows.length / 4);
    // The flow table, not the hash alone: a new table would move flows, these do not.
    t.fx.dp.setMaglevTable(1, Array.from({ length: M }, () => BACKENDS[family][0].id + 10));
    const again = t.fx.dp.progTestRunBatch(POD_INGRESS, flows.map((f) => P.tcpFrame(f, { flags: P.TCP_ACK })));
    again.forEach((r, i) => expect(P.ipView(r.packet).dst.equals(P.ipView(outs[i].packet).dst)).toBe(true));
    for (let i = 0; i < flows.length; i++) {
      const be = P.formatAddr(P.ipView(outs[i].packet).dst);
      const reply = t.fx.dp.progTestRun(TC_EGRESS, P.tcpFrame({ src: be, dst: POD[family], sport: 8080, dport: flows[i].sport }, { flags: P.TCP_SYN | P.TCP_ACK }), 1);
      const want = P.tcpFrame({ src: VIP[family], dst: POD[family], sport: 80, dport: flows[i].sport }, { flags: P.TCP_SYN | P.TCP_ACK });
      expect(reply.packet.subarray(P.ETH_HLEN).toString('hex')).toBe(want.subarray(P.ETH_HLEN).toString('hex'));
    }
  });

  test.each(FAMILIES)('%s: UDP and SCTP (the CRC32c for the new port) are translated too', (family) => {
    podService(family, 2, 'UDP', 53);
    podService(family, 3, 'SCTP', 80);
    for (let i = 0; i < 200; i++) {
      const u = t.fx.dp.progTestRun(POD_INGRESS, P.udpFrame(fromPod(family, 30000 + i, 53), Buffer.alloc(i + 1, i)), 1);
      const s = t.fx.dp.progTestRun(POD_INGRESS, P.sctpFrame(fromPod(family, 30000 + i), P.sctpInit(0x100 + i)), 1);
      for (const r of [u, s]) {
        expect(r.retval).toBe(TC_ACT_OK);
        expect(P.ports(r.packet).dport).toBe(8080);
        expect(checksumFaults(r.packet)).toEqual([]);
      }
    }
  });

  test("an IPv4 UDP datagram without a checksum keeps none", () => {
    podService('ipv4', 2, 'UDP', 53);
    const r = t.fx.dp.progTestRun(POD_INGRESS, P.udpFrame(fromPod('ipv4', 30000, 53), Buffer.from('none'), true), 1);
    expect(P.ports(r.packet).dport).toBe(8080);
    expect(r.packet.readUInt16BE(P.ETH_HLEN + 20 + 6)).toBe(0);
  });

  test('the views stay apart: XDP leaves the pods\' frontends alone, the path the edge\'s; both dump with their scope', () => {
    podService('ipv4', 1);
    programService(t.fx.dp, M, frontend(VIP4, 81, 'TCP', 2), [{ id: 30, addr: '198.18.10.9', port: 9090 }]);
    const toPodView = P.tcpFrame({ src: '198.19.5.5', dst: VIP4, sport: 40000, dport: 80 }, { flags: P.TCP_SYN });
    expectUnchanged(t.fx.dp.progTestRun(PROG, toPodView, 1, { netns: t.fx.netns, ifindex: t.fx.ifindex }), toPodView, 2 /* XDP_PASS */);
    const toEdgeView = P.tcpFrame(fromPod('ipv4', 40000, 81), { flags: P.TCP_SYN });
    expectUnchanged(t.fx.dp.progTestRun(POD_INGRESS, toEdgeView, 1), toEdgeView, TC_ACT_OK);
    const dumped = t.fx.dp.dumpFrontends().map((f) => `${f.addr}:${f.port}/${f.proto}:${f.svcId}:${f.scope ?? 'external'}`).sort();
    expect(dumped).toEqual([`${VIP4}:80/TCP:1:pod`, `${VIP4}:81/TCP:2:external`]);
    t.fx.dp.deleteFrontends([{ addr: VIP4, port: 80, proto: 'TCP', scope: 'pod' }]);
    expect(t.fx.dp.dumpFrontends().map((f) => f.port)).toEqual([81]);
  });

  test('packets for no frontend, not TCP/UDP/SCTP, or too short leave as they came', () => {
    podService('ipv4', 1);
    const frames = [
      P.tcpFrame(fromPod('ipv4', 40000, 443)),
      P.tcpFrame({ ...fromPod('ipv4', 40000), dst: '198.18.100.99' }),
      P.udpFrame(fromPod('ipv6', 40000, 80)),
      P.ethernet(P.NODE_MAC, P.CLIENT_MAC, P.ETH_P_ARP, Buffer.alloc(28)),
      P.tcpFrame(fromPod('ipv4', 40000)).subarray(0, P.ETH_HLEN + 20 + 10),
    ];
    for (const f of frames) expectUnchanged(t.fx.dp.progTestRun(POD_INGRESS, f, 1), f, TC_ACT_OK);
  });

  test("a connection the pod makes straight to the backend, from a port a frontend's flow used: its replies are left alone", () => {
    podService('ipv4', 1);
    const out = t.fx.dp.progTestRun(POD_INGRESS, P.tcpFrame(fromPod('ipv4', 40000), { flags: P.TCP_SYN }), 1);
    const backend = P.formatAddr(P.ipView(out.packet).dst);
    const reply = P.tcpFrame({ src: backend, dst: POD.ipv4, sport: 8080, dport: 40000 }, { flags: P.TCP_SYN | P.TCP_ACK });
    expect(t.fx.dp.progTestRun(TC_EGRESS, reply, 1).packet.equals(reply)).toBe(false);
    // The same ends, now without the frontend: the SYN passes as it is, and so does the reply.
    const direct = P.tcpFrame({ src: POD.ipv4, dst: backend, sport: 40000, dport: 8080 }, { flags: P.TCP_SYN });
    expectUnchanged(t.fx.dp.progTestRun(POD_INGRESS, direct, 1), direct, TC_ACT_OK);
    expectUnchanged(t.fx.dp.progTestRun(TC_EGRESS, reply, 1), reply, TC_ACT_OK);
  });

  test.each(FAMILIES)('%s: hairpin: a pod that picks itself gets its packet back from the hairpin address; its reply goes back to it from the frontend', (family) => {
    const hairpin = family === 'ipv4' ? '169.254.42.1' : '100::42:1';
    programService(t.fx.dp, M, pod(frontend(VIP[family], 80, 'TCP', 1)), [{ id: 1, addr: POD[family], port: 8080 }]);
    const macs = (f: Buffer) => [f.subarray(0, 6).toString('hex'), f.subarray(6, 12).toString('hex')];
    const l3 = (f: Buffer) => f.subarray(P.ETH_HLEN).toString('hex');
    const syn = P.tcpFrame(fromPod(family, 40000), { flags: P.TCP_SYN });
    const there = t.fx.dp.progTestRun(POD_INGRESS, syn, 1);
    expect(there.retval).toBe(TC_ACT_REDIRECT);
    expect(macs(there.packet)).toEqual(macs(syn).reverse());
    expect(l3(there.packet)).toBe(l3(P.tcpFrame({ src: hairpin, dst: POD[family], sport: 40000, dport: 8080 }, { flags: P.TCP_SYN })));
    const synAck = P.tcpFrame({ src: POD[family], dst: hairpin, sport: 8080, dport: 40000 }, { flags: P.TCP_SYN | P.TCP_ACK });
    const back = t.fx.dp.progTestRun(POD_INGRESS, synAck, 1);
    expect(back.retval).toBe(TC_ACT_REDIRECT);
    expect(macs(back.packet)).toEqual(macs(synAck).reverse());
    expect(l3(back.packet)).toBe(l3(P.tcpFrame({ src: VIP[family], dst: POD[family], sport: 80, dport: 40000 }, { flags: P.TCP_SYN | P.TCP_ACK })));
    // Nothing else is answered from the hairpin address: a packet to it without a flow is dropped.
    const stray = P.tcpFrame({ src: POD[family], dst: hairpin, sport: 8080, dport: 40001 }, { flags: P.TCP_ACK });
    expect(t.fx.dp.progTestRun(POD_INGRESS, stray, 1).retval).toBe(TC_ACT_SHOT);
  });

  test('a frontend without backends drops (no_service_backend)', () => {
    programService(t.fx.dp, M, pod(frontend(VIP4, 80, 'TCP', 1)), []);
    expect(t.fx.dp.progTestRun(POD_INGRESS, P.tcpFrame(fromPod('ipv4', 40000), { flags: P.TCP_SYN }), 1).retval).toBe(TC_ACT_SHOT);
    expect(dropCount(t.fx.dp, 'no_service_backend')).toBe(1);
  });

  test.each(FAMILIES)('%s: fragments: the first to a backend, the later ones after it with the same destination; a stranger\'s later fragment passes as it is', (family) => {
    podService(family, 2, 'UDP', 53);
    const frame = P.udpFrame(fromPod(family, 40000, 53), Buffer.alloc(3000, 7));
    const outs = P.fragmentFrame(frame, 1200, 0x5151).map((f) => t.fx.dp.progTestRun(POD_INGRESS, f, 1));
    for (const r of outs) expect(r.retval).toBe(TC_ACT_OK);
    const whole = P.reassemble(outs.map((r) => r.packet));
    const dst = P.formatAddr(P.ipView(whole).dst);
    expect(BACKENDS[family].map((b) => P.formatAddr(P.addrBytes(b.addr)))).toContain(dst);
    for (const r of outs) expect(P.formatAddr(P.ipView(r.packet).dst)).toBe(dst);
    expect(P.ports(whole)).toEqual({ sport: 40000, dport: 8080 });
    expect(P.l4ChecksumOk(whole)).toBe(true);
    const stranger = P.fragmentFrame(P.udpFrame({ ...fromPod(family, 40000, 53), src: family === 'ipv4' ? '198.18.10.6' : 'fd00:198:18:a::6' }, Buffer.alloc(3000, 7)), 1200, 0x5152)[1];
    expectUnchanged(t.fx.dp.progTestRun(POD_INGRESS, stranger, 1), stranger, TC_ACT_OK);
  });
});
