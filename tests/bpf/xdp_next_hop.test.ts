// The next hop of packets towards backends (bpf/include/kpr_next_hop.h),
// through BPF_PROG_TEST_RUN in the fixture's namespace: the FIB's answer is
// kept per CPU and asked again once it is 100 ms old, so that a new MAC of a
// backend's node, a lower MTU towards it or a neighbour entry that is gone
// is followed; a failed lookup is never kept.
import * as path from 'path';
import { ip, run } from '../helpers/run';
import { sleep } from '../helpers/sleep';
import { ProgTestRunResult } from '../../lib/datapath/native';
import * as P from './packets';
import {
  CLIENT4, dropCount, eachEdgeFixture, frontend, LINK_CLIENT6, PEER4, PEER6, PEER_MAC, PROG, programService, VIP4, VIP6,
  XDP_DROP, XDP_TX,
} from './xdp_fixture';

const M = 251;
/** KPR_EDGE_NEXT_HOP_TTL_NS, and a wait past it: the clock it is read on moves in jiffies. */
const KEPT_MS = 100;
const PAST_KEPT_MS = KEPT_MS + 60;
const NEW_MAC = '02:00:00:00:b0:99';
/** The name the kernel gives kpr_edge_next_hops (15 characters). */
const MAP_NAME = 'kpr_edge_next_hops'.slice(0, 15);

interface Kept {
  /** In hex. */
  dst: string;
  ingress: number;
  ifindex: number;
  mtu: number;
  dmac: string;
}

interface KeptValue {
  q: { dst: number[]; ingress_ifindex: number; family: number };
  ifindex: number;
  mtu: number;
  dmac: number[];
}

/** This process's CPUs, as taskset lists them (e.g. "0,1" or "0-3"), and one by one. */
function allowedCpus(): { list: string; cpus: number[] } {
  const list = run('taskset', ['-pc', String(process.pid)]).trim().split(': ')[1];
  const cpus = list.split(',').flatMap((r) => {
    const [a, b = a] = r.split('-').map(Number);
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
  return { list, cpus };
}

/** fn, with this process's main thread (which runs the programs) on each of
 *  its CPUs in turn: answers are kept per CPU, so every CPU's is tried. */
function onEachCpu<T>(fn: () => T): T[] {
  const { list, cpus } = allowedCpus();
  try {
    return cpus.map((cpu) => {
      run('taskset', ['-pc', String(cpu), String(process.pid)]);
      return fn();
    });
  } finally {
    run('taskset', ['-pc', list, String(process.pid)]);
  }
}

const mac = (bytes: number[]) => bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
/** An address as the map holds it (IPv4 in the first 4 bytes), in hex, as P.addrBytes() gives it. */
const addressHex = (v: KeptValue) => Buffer.from(v.q.dst.slice(0, v.q.family === 2 ? 4 : 16)).toString('hex');

describe('XDP edge LB: the next hop towards a backend (BPF_PROG_TEST_RUN)', () => {
  const t = eachEdgeFixture('nexthop', { maglevTableSize: M });
  const runPkt = (pkt: Buffer): ProgTestRunResult => t.fx.dp.progTestRun(PROG, pkt, 1, { netns: t.fx.netns, ifindex: t.fx.ifindex });
  const inFixture = (...args: string[]) => ip('-n', path.basename(t.fx.netns), ...args);

  /** The answers kept on every CPU, read from the program's own map. */
  function kept(): Kept[] {
    const prog = JSON.parse(run('bpftool', ['-j', 'prog', 'show', 'id', String(t.fx.dp.programIds()[PROG])])) as { map_ids: number[] };
    const id = prog.map_ids.find((m) => (JSON.parse(run('bpftool', ['-j', 'map', 'show', 'id', String(m)])) as { name: string }).name === MAP_NAME);
    if (id === undefined) throw new Error(`${PROG} has no map ${MAP_NAME}`);
    const slots = JSON.parse(run('bpftool', ['-j', 'map', 'dump', 'id', String(id)])) as { formatted: { values: { value: KeptValue }[] } }[];
    return slots
      .flatMap((s) => s.formatted.values.map((c) => c.value))
      .filter((v) => v.q.family !== 0)
      .map((v) => ({ dst: addressHex(v), ingress: v.q.ingress_ifindex, ifindex: v.ifindex, mtu: v.mtu, dmac: mac(v.dmac) }));
  }

  const sentTo = (r: ProgTestRunResult) => {
    expect(r.retval).toBe(XDP_TX);
    return mac([...r.packet.subarray(0, 6)]);
  };

  const cpuCount = allowedCpus().cpus.length;
  const everyCpu = <T>(v: T): T[] => Array.from({ length: cpuCount }, () => v);

  test.each([
    { name: 'DSR, IPv4: the tunnel to the backend node', vip: VIP4, client: CLIENT4, be: '198.18.60.1', node: PEER4, mode: 'dsr' as const },
    { name: 'snat, IPv6: the packet to the backend', vip: VIP6, client: LINK_CLIENT6, be: PEER6, node: PEER6, mode: 'snat' as const },
  ])('$name: the answer is kept on each CPU, and a new MAC of its next hop is used once it is 100 ms old', async ({ vip, client, be, node, mode }) => {
    programService(t.fx.dp, M, frontend(vip, 80, 'UDP', 1, { mode }), [{ id: 1, addr: be, port: 8080, nodeAddr: node }]);
    const packet = P.udpFrame({ src: client, dst: vip, sport: 40000, dport: 80 });
    expect(onEachCpu(() => sentTo(runPkt(packet)))).toEqual(everyCpu(PEER_MAC));
    expect(kept()).toEqual(everyCpu({ dst: P.addrBytes(node).toString('hex'), ingress: t.fx.ifindex, ifindex: t.fx.ifindex, mtu: 1500, dmac: PEER_MAC }));

    inFixture(...(node === PEER6 ? ['-6'] : []), 'neigh', 'replace', node, 'lladdr', NEW_MAC, 'dev', 'nic0', 'nud', 'permanent');
    await sleep(PAST_KEPT_MS);
    expect(onEachCpu(() => sentTo(runPkt(packet)))).toEqual(everyCpu(NEW_MAC));
    expect(kept().map((k) => k.dmac)).toEqual(everyCpu(NEW_MAC));
  });

  test('a lower MTU towards the backend node: once the answer is 100 ms old, a packet that fitted is answered with the new MTU', async () => {
    programService(t.fx.dp, M, frontend(VIP4, 80, 'TCP', 1), [{ id: 1, addr: '198.18.60.1', port: 8080, nodeAddr: PEER4 }]);
    const flow = { src: CLIENT4, dst: VIP4, sport: 45000, dport: 80 };
    // 1472 bytes of IPv4 fit a 1500-byte link in kpr's tunnel (28 bytes), 1372 a 1400-byte one.
    const segment = P.tcpFrame(flow, { flags: P.TCP_ACK, payload: Buffer.alloc(1472 - 40, 0x6b) });
    expect(onEachCpu(() => runPkt(segment).packet.length)).toEqual(everyCpu(P.ETH_HLEN + 1500));

    inFixture('link', 'set', 'nic0', 'mtu', '1400');
    await sleep(PAST_KEPT_MS);
    const answers = onEachCpu(() => runPkt(segment));
    expect(answers.map((r) => r.retval)).toEqual(everyCpu(XDP_TX));
    expect(answers.map((r) => r.packet.toString('hex'))).toEqual(everyCpu(P.tooBig(segment, 1372).toString('hex')));
    expect(dropCount(t.fx.dp, 'frag_needed')).toBe(cpuCount);
  });

  test('a neighbour entry that is gone: once the answer is 100 ms old, packets are dropped; no failure is kept, so the next packet after it is back is sent', async () => {
    programService(t.fx.dp, M, frontend(VIP4, 80, 'UDP', 1), [{ id: 1, addr: '198.18.60.1', port: 8080, nodeAddr: PEER4 }]);
    const packet = P.udpFrame({ src: CLIENT4, dst: VIP4, sport: 40000, dport: 80 });
    expect(onEachCpu(() => sentTo(runPkt(packet)))).toEqual(everyCpu(PEER_MAC));

    inFixture('neigh', 'del', PEER4, 'dev', 'nic0');
    await sleep(PAST_KEPT_MS);
    expect(onEachCpu(() => runPkt(packet).retval)).toEqual(everyCpu(XDP_DROP));
    expect(dropCount(t.fx.dp, 'fib_lookup_failed')).toBe(cpuCount);

    inFixture('neigh', 'add', PEER4, 'lladdr', NEW_MAC, 'dev', 'nic0', 'nud', 'permanent');
    expect(onEachCpu(() => sentTo(runPkt(packet)))).toEqual(everyCpu(NEW_MAC));
  });
});
