// The edge LB's per-flow state has a lifetime (bpf/include/kpr_flow_lifetime.h,
// kpr_edge_snat.h, native/src/flow_gc.cc), proven packet by packet with
// BPF_PROG_TEST_RUN: a snat port is given up when its flow closed or idled
// out and taken by the next flow, never while the flow lives; ports the node
// serves are never used; a full snat map refuses new flows and keeps its
// flows; the collector deletes what ended flows left and counts the rest.
import { EDGE_DROP_REASONS } from '../../lib/datapath/reasons';
import { DEFAULT_FLOW_TIMEOUTS } from '../../lib/datapath/edge/flow_timeouts';
import { EdgeBackend, EdgeFrontend, FlowGcReport, FlowTimeouts, loadAddon, PortRange, ProgTestRunResult } from '../../lib/datapath/native';
import { pinPaths } from '../../lib/host/bpffs';
import { BpfRoot } from '../helpers/bpf_root';
import { assertPrivileged } from '../helpers/preflight';
import { sleep } from '../helpers/sleep';
import { execFileSync } from 'child_process';
import * as P from './packets';
import { createEdgeFixture, edgeConfig, EdgeFixture, LINK_CLIENT4, NODE4, NODE6, openBpfRoot, PEER4, PROG, TC_EGRESS, XDP_DROP, XDP_PASS, XDP_TX } from './xdp_fixture';

jest.setTimeout(60_000);

const M = 251;
const VIP4 = '198.18.100.10';
/** Two clients the fixture's FIB can answer (a neighbour entry each). */
const CLIENT_A = LINK_CLIENT4;
const CLIENT_B = PEER4;
const BACKEND_PORT = 8080;
const ONE_PORT: PortRange[] = [{ min: 40000, max: 40000 }];
/** KPR_CT_REUSE_S clock seconds (kpr_flow_lifetime.h), with the clock's jiffies to spare. */
const PAST_REUSE_MS = 3200;
/** Past a timeout of 1 s and its KPR_CT_SLACK_S. */
const PAST_ONE_SECOND_TIMEOUT_MS = 4200;

function frontend(proto: 'TCP' | 'UDP', svcId: number, extra: Partial<EdgeFrontend> = {}): EdgeFrontend {
  return { addr: VIP4, port: 80, proto, svcId, count: 1, affinityTimeout: 0, sourceRanges: false, mode: 'snat', algorithm: 'maglev', noBackend: 'reject', ...extra };
}

describe('per-flow state with a lifetime (BPF_PROG_TEST_RUN)', () => {
  let root: BpfRoot;
  let fx: EdgeFixture;
  const runPkt = (pkt: Buffer): ProgTestRunResult => fx.dp.progTestRun(PROG, pkt, 1, { netns: fx.netns, ifindex: fx.ifindex });
  const drops = (reason: string) => fx.dp.readDrops()[EDGE_DROP_REASONS.indexOf(reason)];
  const configure = (snatPorts: PortRange[], timeouts: Partial<FlowTimeouts> = {}) =>
    fx.dp.setConfig(edgeConfig({ nodeAddr4: NODE4, nodeAddr6: NODE6, hashSeed: 0 }, { snatPorts, timeouts: { ...DEFAULT_FLOW_TIMEOUTS, ...timeouts } }));
  function service(fe: EdgeFrontend, backends: Omit<EdgeBackend, 'svcId'>[]): void {
    fx.dp.updateBackends(backends.map((b) => ({ ...b, svcId: fe.svcId })));
    fx.dp.setMaglevTable(fe.svcId, Array.from({ length: M }, (_, i) => backends[i % backends.length].id));
    fx.dp.updateFrontends([fe]);
  }
  const remoteBackend = { id: 1, addr: PEER4, port: BACKEND_PORT, nodeAddr: PEER4 };

  /** A client's TCP segment to the frontend; the snat port it left on, or undefined when dropped. */
  function fromClient(client: string, sport: number, flags: number, udp = false): number | undefined {
    const flow = { src: client, dst: VIP4, sport, dport: 80 };
    const out = runPkt(udp ? P.udpFrame(flow) : P.tcpFrame(flow, { flags }));
    if (out.retval === XDP_DROP) return undefined;
    expect(out.retval).toBe(XDP_TX);
    return P.ports(out.packet).sport;
  }

  /** The backend's segment to a snat port: which client it went back to. */
  function fromBackend(snatPort: number, flags: number, udp = false): { client: string; dport: number } | undefined {
    const flow = { src: PEER4, dst: NODE4, sport: BACKEND_PORT, dport: snatPort };
    const out = runPkt(udp ? P.udpFrame(flow) : P.tcpFrame(flow, { flags }));
    if (out.retval === XDP_PASS) return undefined;
    expect(out.retval).toBe(XDP_TX);
    return { client: P.formatAddr(P.ipView(out.packet).dst), dport: P.ports(out.packet).dport };
  }

  beforeAll(() => assertPrivileged());
  beforeEach(() => {
    fx = undefined as unknown as EdgeFixture;
    root = openBpfRoot('lifetime');
    fx = createEdgeFixture(root, { maglevTableSize: M, snatMax: 64 });
  });
  afterEach(() => {
    try {
      fx?.destroy();
    } finally {
      root?.destroy();
    }
  });

  describe('snat ports', () => {
    beforeEach(() => configure(ONE_PORT));

    test('a TCP flow closed both ways gives its port up seconds after its last packet, not before', () => {
      service(frontend('TCP', 1), [remoteBackend]);
      expect(fromClient(CLIENT_A, 42000, P.TCP_SYN)).toBe(40000);
      expect(fromBackend(40000, P.TCP_SYN | P.TCP_ACK)).toEqual({ client: CLIENT_A, dport: 42000 });
      expect(fromClient(CLIENT_A, 42000, P.TCP_ACK)).toBe(40000);
      // The only port is held: another client's flow is refused, and counted.
      expect(fromClient(CLIENT_B, 42000, P.TCP_SYN)).toBeUndefined();
      expect(drops('snat_no_port')).toBe(1);
      expect(fromClient(CLIENT_A, 42000, P.TCP_FIN | P.TCP_ACK)).toBe(40000);
      expect(fromBackend(40000, P.TCP_FIN | P.TCP_ACK)).toEqual({ client: CLIENT_A, dport: 42000 });
      // Closed, but its last ACK may still be on its way.
      expect(fromClient(CLIENT_B, 42000, P.TCP_SYN)).toBeUndefined();
      expect(fromClient(CLIENT_A, 42000, P.TCP_ACK)).toBe(40000);
      return sleep(PAST_REUSE_MS).then(() => {
        expect(fromClient(CLIENT_B, 42000, P.TCP_SYN)).toBe(40000);
        expect(fromBackend(40000, P.TCP_SYN | P.TCP_ACK)).toEqual({ client: CLIENT_B, dport: 42000 });
        // The old flow's client no longer holds a port: its late packet gets none.
        expect(fromClient(CLIENT_A, 42000, P.TCP_ACK)).toBeUndefined();
        expect(drops('snat_no_port')).toBe(3);
      });
    });

    test('a reset flow gives its port up too, a live flow as idle keeps it', async () => {
      service(frontend('TCP', 1), [remoteBackend]);
      expect(fromClient(CLIENT_A, 42000, P.TCP_SYN)).toBe(40000);
      expect(fromClient(CLIENT_A, 42000, P.TCP_ACK)).toBe(40000);
      await sleep(PAST_REUSE_MS);
      expect(fromClient(CLIENT_B, 42000, P.TCP_SYN)).toBeUndefined();
      expect(fromBackend(40000, P.TCP_RST)).toEqual({ client: CLIENT_A, dport: 42000 });
      await sleep(PAST_REUSE_MS);
      expect(fromClient(CLIENT_B, 42000, P.TCP_SYN)).toBe(40000);
    });

    test('a UDP flow idle past the UDP timeout gives its port up; traffic keeps it, with the clock the collector ticks', async () => {
      configure(ONE_PORT, { udp: 1 });
      service(frontend('UDP', 1), [remoteBackend]);
      const gc = loadAddon().openFlowGc(pinPaths(root.path).maps);
      try {
        expect(fromClient(CLIENT_A, 5353, 0, true)).toBe(40000);
        // A packet a second: past the timeout in all, never idle for it.
        for (let i = 0; i < 4; i++) {
          await sleep(1100);
          gc.step(1);
          expect(fromClient(CLIENT_A, 5353, 0, true)).toBe(40000);
        }
        expect(fromClient(CLIENT_B, 5353, 0, true)).toBeUndefined();
        await sleep(PAST_ONE_SECOND_TIMEOUT_MS);
        expect(fromClient(CLIENT_B, 5353, 0, true)).toBe(40000);
        expect(fromBackend(40000, 0, true)).toEqual({ client: CLIENT_B, dport: 5353 });
      } finally {
        gc.close();
      }
    });

    test("a UDP flow asked again at once after its first reply is a stream: it keeps its port past the UDP timeout, for the stream's", async () => {
      configure(ONE_PORT, { udp: 1 });
      service(frontend('UDP', 1), [remoteBackend]);
      expect(fromClient(CLIENT_A, 5353, 0, true)).toBe(40000);
      expect(fromBackend(40000, 0, true)).toEqual({ client: CLIENT_A, dport: 5353 });
      // Within the second its port was found its own: after the reply, this packet meets the entry all the same.
      expect(fromClient(CLIENT_A, 5353, 0, true)).toBe(40000);
      await sleep(PAST_ONE_SECOND_TIMEOUT_MS);
      expect(fromClient(CLIENT_B, 5353, 0, true)).toBeUndefined();
      expect(fromBackend(40000, 0, true)).toEqual({ client: CLIENT_A, dport: 5353 });
    });

    test('a client that opens again on the ports of its closed flow keeps its port', async () => {
      service(frontend('TCP', 1), [remoteBackend]);
      expect(fromClient(CLIENT_A, 42000, P.TCP_SYN)).toBe(40000);
      expect(fromClient(CLIENT_A, 42000, P.TCP_FIN | P.TCP_ACK)).toBe(40000);
      expect(fromBackend(40000, P.TCP_FIN | P.TCP_ACK)).toEqual({ client: CLIENT_A, dport: 42000 });
      await sleep(PAST_REUSE_MS);
      expect(fromClient(CLIENT_A, 42000, P.TCP_SYN)).toBe(40000);
      // Open again: its port is its own once more.
      expect(fromClient(CLIENT_B, 42000, P.TCP_SYN)).toBeUndefined();
    });

    test("a SYN-ACK to a closed flow's port answers the node's own connection: it and the rest of that connection reach the stack", () => {
      service(frontend('TCP', 1), [remoteBackend]);
      expect(fromClient(CLIENT_A, 42000, P.TCP_SYN)).toBe(40000);
      expect(fromBackend(40000, P.TCP_SYN | P.TCP_ACK)).toEqual({ client: CLIENT_A, dport: 42000 });
      // Retransmitted while the flow lives: still the flow's.
      expect(fromBackend(40000, P.TCP_SYN | P.TCP_ACK)).toEqual({ client: CLIENT_A, dport: 42000 });
      expect(fromClient(CLIENT_A, 42000, P.TCP_FIN | P.TCP_ACK)).toBe(40000);
      expect(fromBackend(40000, P.TCP_FIN | P.TCP_ACK)).toEqual({ client: CLIENT_A, dport: 42000 });
      // A late packet of the closed flow is its client's.
      expect(fromBackend(40000, P.TCP_ACK)).toEqual({ client: CLIENT_A, dport: 42000 });
      expect(fromBackend(40000, P.TCP_SYN | P.TCP_ACK)).toBeUndefined();
      expect(fromBackend(40000, P.TCP_ACK)).toBeUndefined();
      // The closed flow's entry is gone at once, without the KPR_CT_REUSE_S wait.
      expect(fromClient(CLIENT_B, 42000, P.TCP_SYN)).toBe(40000);
      expect(fromBackend(40000, P.TCP_SYN | P.TCP_ACK)).toEqual({ client: CLIENT_B, dport: 42000 });
    });

    test('never a port the node serves a frontend on: its replies would be taken for requests', () => {
      configure([{ min: 40000, max: 40001 }]);
      service(frontend('TCP', 1), [remoteBackend]);
      // A NodePort of another service on the node's address, at 40000.
      fx.dp.updateBackends([{ id: 2, addr: PEER4, port: BACKEND_PORT, svcId: 2, nodeAddr: PEER4 }]);
      fx.dp.setMaglevTable(2, Array.from({ length: M }, () => 2));
      fx.dp.updateFrontends([{ ...frontend('TCP', 2), addr: NODE4, port: 40000 }]);
      expect(fromClient(CLIENT_A, 42000, P.TCP_SYN)).toBe(40001);
      expect(fromClient(CLIENT_B, 42000, P.TCP_SYN)).toBeUndefined();
      expect(drops('snat_no_port')).toBe(1);
    });
  });

  test('a full snat map refuses new flows, counted as snat_map_full, and keeps serving its flows', () => {
    fx.destroy();
    root.destroy();
    root = openBpfRoot('lifetime-full');
    fx = createEdgeFixture(root, { maglevTableSize: M, snatMax: 4 });
    configure([{ min: 40000, max: 49999 }]);
    service(frontend('TCP', 1), [remoteBackend]);
    const ports = [42000, 42001, 42002, 42003].map((sport) => fromClient(CLIENT_A, sport, P.TCP_SYN));
    expect(ports.every((p) => p !== undefined)).toBe(true);
    expect(fromClient(CLIENT_A, 42004, P.TCP_SYN)).toBeUndefined();
    expect(drops('snat_map_full')).toBe(1);
    ports.forEach((port, i) => {
      expect(fromClient(CLIENT_A, 42000 + i, P.TCP_ACK)).toBe(port);
      expect(fromBackend(port as number, P.TCP_ACK)).toEqual({ client: CLIENT_A, dport: 42000 + i });
    });
  });

  test('a client opening a connection on the ports of a reset or closed flow gets a fresh pick', () => {
    configure(ONE_PORT);
    service(frontend('TCP', 1, { mode: 'dsr' }), [remoteBackend]);
    const misses = () => fx.dp.readFlowMisses();
    fromClient(CLIENT_A, 42000, P.TCP_SYN);
    expect(misses()).toBe(1);
    fromClient(CLIENT_A, 42000, P.TCP_ACK);
    fromClient(CLIENT_A, 42000, P.TCP_SYN); // a retransmitted SYN of the same connection
    expect(misses()).toBe(1);
    fromClient(CLIENT_A, 42000, P.TCP_RST | P.TCP_ACK);
    fromClient(CLIENT_A, 42000, P.TCP_SYN);
    expect(misses()).toBe(2);
    fromClient(CLIENT_A, 42000, P.TCP_FIN | P.TCP_ACK);
    fromClient(CLIENT_A, 42000, P.TCP_SYN);
    expect(misses()).toBe(3);
  });

  describe('a client opening a connection from the port of an ended one, to another frontend of the same service', () => {
    const NODE_PORT = 30080;
    const opened = (dst: string, dport: number) => runPkt(P.tcpFrame({ src: CLIENT_A, dst, sport: 42000, dport }, { flags: P.TCP_SYN }));

    test('local backend: its replies leave as the frontend it opened to', () => {
      const local = { id: 1, addr: '198.18.50.1', port: BACKEND_PORT };
      service(frontend('TCP', 1, { mode: 'dsr' }), [local]);
      fx.dp.updateFrontends([{ ...frontend('TCP', 1, { mode: 'dsr' }), addr: NODE4, port: NODE_PORT }]);
      const reply = P.tcpFrame({ src: local.addr, dst: CLIENT_A, sport: BACKEND_PORT, dport: 42000 }, { flags: P.TCP_SYN | P.TCP_ACK });
      const replySource = () => {
        const out = fx.dp.progTestRun(TC_EGRESS, reply, 1).packet;
        return `${P.formatAddr(P.ipView(out).src)}:${P.ports(out).sport}`;
      };
      expect(opened(VIP4, 80).retval).toBe(XDP_PASS);
      expect(replySource()).toBe(`${VIP4}:80`);
      expect(opened(NODE4, NODE_PORT).retval).toBe(XDP_PASS);
      expect(replySource()).toBe(`${NODE4}:${NODE_PORT}`);
    });

    test('snat: the backend answers on the same port, and the client hears the frontend it opened to', () => {
      configure(ONE_PORT);
      service(frontend('TCP', 1), [remoteBackend]);
      fx.dp.updateFrontends([{ ...frontend('TCP', 1), addr: NODE4, port: NODE_PORT }]);
      const answer = () => {
        const out = runPkt(P.tcpFrame({ src: PEER4, dst: NODE4, sport: BACKEND_PORT, dport: 40000 }, { flags: P.TCP_SYN | P.TCP_ACK }));
        expect(out.retval).toBe(XDP_TX);
        return `${P.formatAddr(P.ipView(out.packet).src)}:${P.ports(out.packet).sport}`;
      };
      expect(P.ports(opened(VIP4, 80).packet).sport).toBe(40000);
      expect(answer()).toBe(`${VIP4}:80`);
      expect(P.ports(opened(NODE4, NODE_PORT).packet).sport).toBe(40000);
      expect(answer()).toBe(`${NODE4}:${NODE_PORT}`);
    });
  });

  describe('the collector (native/src/flow_gc.cc)', () => {
    const openGc = () => loadAddon().openFlowGc(pinPaths(root.path).maps);
    const step = (): FlowGcReport[] => {
      const gc = openGc();
      try {
        return gc.step(1_000_000);
      } finally {
        gc.close();
      }
    };
    const byMap = (reports: FlowGcReport[]) => Object.fromEntries(reports.map((r) => [r.map, r]));
    const LOCAL = { id: 3, addr: '198.18.50.1', port: 5353 };
    const toLocal = (sport: number) => expect(runPkt(P.udpFrame({ src: CLIENT_A, dst: VIP4, sport, dport: 53 })).retval).toBe(XDP_PASS);

    test('deletes what ended flows left (flow, snat, client pointer, reverse NAT), keeps live flows, counts each map', async () => {
      configure([{ min: 40000, max: 40009 }], { tcpSyn: 1, tcpClose: 1, udp: 1 });
      service(frontend('TCP', 1), [remoteBackend]);
      // A local backend: its replies leave through tc egress, by kpr_edge_revnat.
      service(frontend('UDP', 2, { port: 53 }), [LOCAL]);
      const gc = openGc();
      const live = fromClient(CLIENT_A, 42000, P.TCP_SYN) as number;
      const reset = fromClient(CLIENT_B, 42001, P.TCP_SYN) as number;
      try {
        fromClient(CLIENT_A, 42000, P.TCP_ACK);
        fromBackend(reset, P.TCP_RST);
        toLocal(5000); // falls silent
        toLocal(5001); // carries on

        let r = byMap(gc.step(1_000_000));
        expect(r.kpr_edge_snat).toMatchObject({ deleted: 0, passDone: true, live: 2 });
        expect(r.kpr_edge_snat_ports).toMatchObject({ deleted: 0, live: 2 });
        expect(r.kpr_edge_flows4).toMatchObject({ deleted: 0, live: 4 });
        expect(r.kpr_edge_revnat).toMatchObject({ deleted: 0, live: 2 });

        // Each step ticks the clock, and deletes what has been idle for longer
        // than its timeout and slack: by the fourth, whatever the clock's
        // second boundaries, the silent flows.
        const deleted: Record<string, number> = {};
        for (let i = 0; i < 4; i++) {
          await sleep(1100);
          r = byMap(gc.step(1_000_000));
          for (const [map, report] of Object.entries(r)) deleted[map] = (deleted[map] ?? 0) + report.deleted;
          toLocal(5001);
        }
        // The established TCP flow lives on, silent: its timeout is 5 days.
        expect(deleted).toMatchObject({ kpr_edge_snat: 1, kpr_edge_snat_ports: 0, kpr_edge_flows4: 2, kpr_edge_revnat: 1 });
        expect(r.kpr_edge_snat).toMatchObject({ live: 1 });
        expect(r.kpr_edge_snat_ports).toMatchObject({ live: 1 });
        expect(r.kpr_edge_flows4).toMatchObject({ live: 2 });
        expect(r.kpr_edge_revnat).toMatchObject({ live: 1 });
      } finally {
        gc.close();
      }
      // The reply of the deleted UDP flow is no longer rewritten; the live one's still is.
      const reply = (dport: number) => P.udpFrame({ src: LOCAL.addr, dst: CLIENT_A, sport: LOCAL.port, dport });
      expect(fx.dp.progTestRun(TC_EGRESS, reply(5000), 1).packet.equals(reply(5000))).toBe(true);
      expect(P.formatAddr(P.ipView(fx.dp.progTestRun(TC_EGRESS, reply(5001), 1).packet).src)).toBe(VIP4);
      expect(fromBackend(live, P.TCP_ACK)).toEqual({ client: CLIENT_A, dport: 42000 });
      expect(fromBackend(reset, P.TCP_ACK)).toBeUndefined();
    });

    test('counts the fragment map, whose LRU alone retires its entries', () => {
      service(frontend('UDP', 2, { port: 53 }), [LOCAL]);
      const gc = openGc();
      try {
        const datagram = P.udpFrame({ src: CLIENT_A, dst: VIP4, sport: 6000, dport: 53 }, Buffer.alloc(64, 1));
        for (const f of P.fragmentFrame(datagram, 32, 77)) expect(runPkt(f).retval).toBe(XDP_PASS);
        expect(byMap(gc.step(1_000_000)).kpr_edge_fragments).toMatchObject({ deleted: 0, live: 1 });
      } finally {
        gc.close();
      }
    });

    test('an entry stamped after the step read the clock (on another CPU) is not taken for an old one', () => {
      service(frontend('TCP', 1, { mode: 'dsr', affinityTimeout: 60 }), [remoteBackend]);
      const pin = (map: string) => `${pinPaths(root.path).maps}/${map}`;
      const bytes = (b: Buffer) => [...b].map(String);
      const nowNs = process.hrtime.bigint();
      // kpr_edge_affinity: (client, service 1, IPv4) -> last new connection a second ahead, backend 1.
      const key = Buffer.alloc(24);
      P.ipv4Bytes(CLIENT_A).copy(key, 0);
      key.writeUInt32LE(1, 16);
      key[20] = 2;
      const value = Buffer.alloc(16);
      value.writeBigUInt64LE(nowNs + 1_000_000_000n, 0);
      value.writeUInt32LE(1, 8);
      execFileSync('bpftool', ['map', 'update', 'pinned', pin('kpr_edge_affinity'), 'key', ...bytes(key), 'value', ...bytes(value)]);
      expect(byMap(step()).kpr_edge_affinity).toMatchObject({ deleted: 0, live: 1 });
    });

    test("flows that carried on while no agent ticked the clock count as seen at the next agent's start", async () => {
      configure(ONE_PORT, { udp: 1 });
      service(frontend('UDP', 2, { port: 53 }), [LOCAL]);
      toLocal(5000); // a second before the last tick of the agent that stops
      await sleep(1100);
      expect(byMap(step()).kpr_edge_flows4).toMatchObject({ live: 1 });
      toLocal(5001); // after it: its time is the clock that no agent ticks any more
      for (let i = 0; i < 4; i++) {
        await sleep(1100);
        toLocal(5001);
      }
      // The next agent cannot tell when 5001 last spoke: not long before it started.
      const r = byMap(step());
      expect(r.kpr_edge_flows4).toMatchObject({ deleted: 1, live: 1 });
      expect(r.kpr_edge_revnat).toMatchObject({ deleted: 1, live: 1 });
    });
  });
});
