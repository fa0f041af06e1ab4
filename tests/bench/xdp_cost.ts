// Benchmark (make bench), not a test: the XDP edge LB's cost per packet,
// measured by BPF_PROG_TEST_RUN (repeat >= 1e6, the kernel's own timing) with
// 1, 1k and 100k frontends programmed, against a packet for no frontend at
// all in the same run. BPF_PROG_TEST_RUN does not restore the packet between
// repetitions, so the balanced packet is one the program leaves as it found
// it: a frontend whose local backend has the frontend's own address and port.
// Every repetition then takes the whole path — parse, frontend lookup,
// counters, flow-table hit, backend lookup, L3/L4 rewrite with checksum
// updates — except DSR's tunnel header and FIB lookup.
// A port rewrite, which the balanced packet has not, is measured apart: two
// frontends that are each other's backend (port 80 to 8080 and back), so
// that every repetition rewrites the port, for TCP (its checksum patched)
// beside SCTP (its CRC32c updated, kpr_crc32c.h).
// The per-packet path (kpr_tc_pod_ingress, tc on a pod's interface) is
// measured in the same run on the same frontend, programmed in the pods'
// view as well: its balanced packet and its packet for no frontend, beside
// XDP's.
// Writes bench_result.ts's rows (--json PATH overrides the file): kpr's
// balanced packet beside its own pass of a packet for no frontend, for XDP
// and for the per-packet path, and the SCTP port rewrite beside the TCP one.
import { edgeConfig, edgeOptions, openBpfRoot, PROG, XDP_PASS } from '../bpf/xdp_fixture';
import { EdgeFrontend, loadAddon } from '../../lib/datapath/native';
import * as path from 'path';
import { sctpFrame, TCP_ACK, tcpFrame } from '../bpf/packets';
import type { Protocol } from '../../lib/model/protocol';
import { BenchRow, jsonPath, newResult, writeResult } from './bench_result';
import { describeMachine } from './machine';
import { median, ofRounds } from './stats';

const REPEAT = 1_000_000;
const ROUNDS = 5;
const SIZES = [1, 1_000, 100_000];
const MAGLEV_SIZE = 251;
const BATCH = 10_000;
const TARGET_NS = 100;
const MAX_SLOWDOWN = 1.1;

// The measured frontend; the others fill 198.18.128.0/17 so they never clash with it.
const VIP = '198.18.100.10';
const PORT = 80;
const CLIENT = '198.19.5.5';
const POD_PROG = 'kpr_tc_pod_ingress';
const TC_ACT_OK = 0;
/** The measured frontend's service id in the pods' view, clear of the fillers'. */
const POD_SVC = 131_000;

function filler(i: number): EdgeFrontend {
  const addr = `198.18.${128 + (i >> 16)}.${(i >> 8) & 0xff}`;
  return { addr, port: 1024 + (i & 0xff), proto: 'TCP', svcId: i + 2, count: 1, affinityTimeout: 0, sourceRanges: false, mode: 'dsr', algorithm: 'maglev', noBackend: 'reject' };
}

/** ns per packet of each round. */
interface Row {
  frontends: number;
  balancedNs: number[];
  passNs: number[];
  /** The per-packet path's. */
  podBalancedNs: number[];
  podPassNs: number[];
}

function measure(frontends: number): Row {
  const root = openBpfRoot('bench-xdp');
  const dp = loadAddon().openEdgeDatapath(edgeOptions(path.join(root.path, 'kpr', 'maps'), { frontendMax: 131_072, maglevTableSize: MAGLEV_SIZE }));
  try {
    dp.setConfig(edgeConfig({ hashSeed: 0 }));
    dp.updateBackends([{ id: 1, addr: VIP, port: PORT, svcId: 1 }]);
    dp.setMaglevTable(1, new Array(MAGLEV_SIZE).fill(1));
    dp.updateFrontends([{ ...filler(0), addr: VIP, port: PORT, svcId: 1 }]);
    dp.updateBackends([{ id: 2, addr: VIP, port: PORT, svcId: POD_SVC }]);
    dp.setMaglevTable(POD_SVC, new Array(MAGLEV_SIZE).fill(2));
    dp.updateFrontends([{ ...filler(0), addr: VIP, port: PORT, svcId: POD_SVC, scope: 'pod' }]);
    for (let i = 1; i < frontends; i += BATCH) {
      dp.updateFrontends(Array.from({ length: Math.min(BATCH, frontends - i) }, (_, k) => filler(i + k)));
    }
    // An established connection's segment (ACK): what nearly every packet is.
    // A SYN opens a connection, which costs more (its backend and reply
    // translation written); the program sees it once per connection.
    const balanced = tcpFrame({ src: CLIENT, dst: VIP, sport: 40000, dport: PORT }, { flags: TCP_ACK });
    const other = tcpFrame({ src: CLIENT, dst: '198.18.100.11', sport: 40000, dport: PORT }, { flags: TCP_ACK });
    const run = (prog: string, pkt: Buffer) => {
      const r = dp.progTestRun(prog, pkt, REPEAT);
      if (r.retval !== (prog === PROG ? XDP_PASS : TC_ACT_OK) || !r.packet.equals(pkt)) throw new Error(`unexpected result ${r.retval} of ${prog} for the benchmark packet`);
      return r.durationNs;
    };
    const ns = { b: [] as number[], p: [] as number[], podB: [] as number[], podP: [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      ns.b.push(run(PROG, balanced));
      ns.p.push(run(PROG, other));
      ns.podB.push(run(POD_PROG, balanced));
      ns.podP.push(run(POD_PROG, other));
    }
    for (const svcId of [1, POD_SVC]) {
      const stats = dp.readStats().find((s) => s.svcId === svcId);
      if (!stats || stats.packets !== ROUNDS * REPEAT) throw new Error(`the balanced packet was not balanced every time (service ${svcId}): ${JSON.stringify(stats)}`);
    }
    return { frontends, balancedNs: ns.b, passNs: ns.p, podBalancedNs: ns.podB, podPassNs: ns.podP };
  } finally {
    dp.close();
    root.destroy();
  }
}

const REWRITE_PORTS = [80, 8080];

/** ns per packet of a port rewrite (ROUNDS rounds) for TCP and for SCTP. */
function measurePortRewrite(): Record<'TCP' | 'SCTP', number[]> {
  const root = openBpfRoot('bench-xdp');
  const dp = loadAddon().openEdgeDatapath(edgeOptions(path.join(root.path, 'kpr', 'maps'), { maglevTableSize: MAGLEV_SIZE }));
  try {
    dp.setConfig(edgeConfig({ hashSeed: 0 }));
    const protos: Protocol[] = ['TCP', 'SCTP'];
    protos.forEach((proto, p) => {
      REWRITE_PORTS.forEach((port, k) => {
        const svcId = 2 * p + k + 1;
        dp.updateBackends([{ id: svcId, addr: VIP, port: REWRITE_PORTS[1 - k], svcId }]);
        dp.setMaglevTable(svcId, new Array(MAGLEV_SIZE).fill(svcId));
        dp.updateFrontends([{ ...filler(0), addr: VIP, port, proto, svcId }]);
      });
    });
    const flow = { src: CLIENT, dst: VIP, sport: 40000, dport: REWRITE_PORTS[0] };
    const frames = { TCP: tcpFrame(flow, { flags: TCP_ACK }), SCTP: sctpFrame(flow, Buffer.alloc(1000, 7)) };
    const ns = { TCP: [] as number[], SCTP: [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      for (const proto of ['TCP', 'SCTP'] as const) {
        const r = dp.progTestRun(PROG, frames[proto], REPEAT);
        // An even number of rewrites brings the packet back, checksum and all.
        if (r.retval !== XDP_PASS || !r.packet.equals(frames[proto])) throw new Error(`unexpected result ${r.retval} for the ${proto} rewrite packet`);
        ns[proto].push(r.durationNs);
      }
    }
    return ns;
  } finally {
    dp.close();
    root.destroy();
  }
}

const BENCH = 'xdp-cost';

function resultRows(rows: Row[], rewrite: Record<'TCP' | 'SCTP', number[]>): BenchRow[] {
  const at = (r: Row, scenario = 'xdp-per-packet') => ({ scenario, scale: r.frontends, scaleUnit: 'frontends', peer: 'kpr' as const, unit: 'ns', better: 'lower' as const });
  const rewriteAt = { scenario: 'xdp-port-rewrite', scale: 2, scaleUnit: 'frontends', peer: 'kpr' as const, unit: 'ns', better: 'lower' as const };
  return [
    ...rows.flatMap((r) => [
      { ...at(r), metric: 'balanced packet', ...ofRounds(r.balancedNs) },
      { ...at(r), metric: 'packet for no frontend', ...ofRounds(r.passNs) },
      { ...at(r, 'pod-path-per-packet'), metric: 'balanced packet', ...ofRounds(r.podBalancedNs) },
      { ...at(r, 'pod-path-per-packet'), metric: 'packet for no frontend', ...ofRounds(r.podPassNs) },
    ]),
    { ...rewriteAt, metric: 'TCP port rewrite', ...ofRounds(rewrite.TCP) },
    { ...rewriteAt, metric: 'SCTP port rewrite (1012-byte packet)', ...ofRounds(rewrite.SCTP) },
  ];
}

function main(): void {
  const json = jsonPath(BENCH, process.argv.slice(2));
  const result = newResult(BENCH, { repeat: REPEAT, rounds: ROUNDS, frontends: SIZES, maglevTableSize: MAGLEV_SIZE });
  console.log(`XDP edge LB cost per packet (BPF_PROG_TEST_RUN, ${REPEAT} repetitions, median of ${ROUNDS})`);
  console.log(`machine: ${describeMachine()}`);
  const rows = SIZES.map(measure);
  const balanced = rows.map((r) => median(r.balancedNs));
  console.log('frontends  balanced ns/pkt  not-a-frontend ns/pkt  per-packet path: balanced  not-a-frontend');
  for (const r of rows) {
    const cols = [r.balancedNs, r.passNs, r.podBalancedNs, r.podPassNs].map((ns) => String(median(ns)));
    console.log(`${String(r.frontends).padStart(9)}  ${cols[0].padStart(15)}  ${cols[1].padStart(21)}  ${cols[2].padStart(25)}  ${cols[3].padStart(14)}`);
  }
  const ratio = balanced[balanced.length - 1] / balanced[0];
  console.log(`100k vs 1 frontend: x${ratio.toFixed(2)} (target <= x${MAX_SLOWDOWN}); worst ${Math.max(...balanced)} ns (target <= ${TARGET_NS} ns)`);
  // Reported, not enforced: a benchmark informs, the tests decide.
  if (ratio > MAX_SLOWDOWN || balanced.some((ns) => ns > TARGET_NS)) console.log('target missed');
  const rewrite = measurePortRewrite();
  const [tcp, sctp] = [median(rewrite.TCP), median(rewrite.SCTP)];
  console.log(`port rewrite ns/pkt: TCP ${tcp}, SCTP ${sctp} (its CRC32c updated: +${sctp - tcp} ns)`);
  writeResult(json, { ...result, rows: resultRows(rows, rewrite) });
}

main();
