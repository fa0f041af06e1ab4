// Benchmark (make bench-flow-rate, part of make bench), not a test: new flows
// per second through a NodePort whose one backend runs on another node, so
// that kpr forwards in snat mode and kube-proxy (iptables, then nftables)
// masquerades, each keeping NAT state per flow (flow_rate_objects.ts). The
// peers run one after the other on the same machine and network
// (datapath_peers.ts, flow_rate_topology.ts): they share 2 CPUs with the
// load generator and the backend, and side by side they would measure the
// machine. Per peer, once a probe has gone through it clean:
//   - sustained: --rate new flows/s (default 1000) for --seconds (60; 600
//     with make bench FULL=1), TCP then UDP (flowrate.c);
//   - ramp: --ramp rates (1000,1500,2000,3000,4000,...) for --ramp-seconds each, TCP
//     then UDP, until 0.1% of a step's flows fail or the generator cannot
//     open them on time; the highest rate below 0.1% is the break-even.
// Each run records what the backend served and the peer's NAT state
// (flow_rate_runs.ts); the per-second counts are kept in the result.
//
// Flags: --seconds 60 --rate 1000 --ramp 1000,1500,2000,3000,4000,6000,8000,...,32000
// --ramp-seconds 20 --peers kpr,iptables,nftables --protocols tcp,udp
// --json PATH (default benchmarks/results/flow-rate.json).
import { Cluster } from '../e2e/cluster';
import { assertPrivileged } from '../helpers/preflight';
import { sleep } from '../helpers/sleep';
import { BenchResult, BenchRow, finishRun, jsonPath, newResult } from './bench_result';
import { PeerName, PEER_LABELS, RunningPeer, startPeer } from './datapath_peers';
import { Backend, BACKEND_DEVICE, createBackend, EXTERNAL_DEVICE } from './datapath_topology';
import { FlowRateServices, programmedFor, withFlowRateObjects } from './flow_rate_objects';
import { failedFraction, FAILURE_LIMIT, keptRate, Proto, PROTOS, RunResult, runFlows } from './flow_rate_runs';
import { extendSlot } from './flow_rate_topology';
import { describeMachine } from './machine';
import { BREAK_EVEN, BREAK_EVEN_METRIC } from './report_targets';
import { count } from './scale_options';

interface Options {
  seconds: number;
  rate: number;
  ramp: number[];
  rampSeconds: number;
  peers: PeerName[];
  protocols: Proto[];
  json: string;
}

const BENCH = 'flow-rate';
const PEERS: PeerName[] = ['kpr', 'iptables', 'nftables'];
const SCALE_UNIT = 'flows/s offered';
/** Before measuring, a peer must carry a short run clean. */
const PROBE_RATE = 100;
const PROBE_ATTEMPTS = 10;
const PROBE_RETRY_MS = 1000;

function parseOptions(args: string[]): Options {
  const o: Options = { seconds: 60, rate: 1000, ramp: [1000, 1500, 2000, 3000, 4000, 6000, 8000, 12000, 16000, 24000, 32000], rampSeconds: 20, peers: PEERS, protocols: PROTOS, json: jsonPath(BENCH, args) };
  const list = <T extends string>(flag: string, v: string | undefined, all: T[]): T[] => {
    const xs = (v ?? '').split(',') as T[];
    if (xs.some((x) => !all.includes(x))) throw new Error(`${flag} takes a comma-separated list of ${all.join(',')}, got ${JSON.stringify(v)}`);
    return xs;
  };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, v] = [args[i], args[i + 1]];
    if (flag === '--seconds') o.seconds = count(flag, v);
    else if (flag === '--rate') o.rate = count(flag, v);
    else if (flag === '--ramp') o.ramp = (v ?? '').split(',').map((r) => count(flag, r));
    else if (flag === '--ramp-seconds') o.rampSeconds = count(flag, v);
    else if (flag === '--peers') o.peers = list(flag, v, PEERS);
    else if (flag === '--protocols') o.protocols = list(flag, v, PROTOS);
    else if (flag !== '--json') throw new Error(`unknown flag or missing value: ${flag}`);
  }
  if (o.ramp.some((r, k) => k > 0 && r <= o.ramp[k - 1])) throw new Error('--ramp rates must increase');
  return o;
}

const pct = (x: number) => `${(100 * x).toFixed(3)}%`;

function describe(r: RunResult): string {
  const o = r.out;
  const errors = Object.entries(o.errors).map(([e, n]) => `${e} ${n}`).join(', ');
  const drops = Object.entries(r.dropsByReason).map(([e, n]) => `${e} ${n}`).join(', ');
  return (
    `${o.ok}/${o.scheduled} answered, ${o.failed} failed${errors ? ` (${errors})` : ''}, opened ${o.attempted} (lag up to ${Math.round(o.maxLagMs)} ms); ` +
    `backend served ${r.served}; NAT entries ${r.natEntries ?? 'not counted yet'}${r.collected === undefined ? '' : ` (collector deleted ${r.collected})`}, ` +
    `NAT drops ${r.natDrops}${drops ? `; drops by reason: ${drops}` : ''}`
  );
}

/** When failures started and how they went, from the per-second counts. */
function failureNote(label: string, what: string, r: RunResult): string | undefined {
  const failed = r.out.perSecond.failed;
  const first = failed.findIndex((n) => n > 0);
  if (first < 0) return undefined;
  const worst = Math.max(...failed);
  return `${label} ${what}: first failure in second ${first + 1} of ${failed.length}, at most ${worst} failed in one second; ${describe(r)}`;
}

class FlowRateRun {
  constructor(
    private readonly o: Options,
    private readonly result: BenchResult,
  ) {}

  private row(scenario: string, p: RunningPeer, metric: string, unit: string, value: number, better: 'higher' | 'lower', scale?: number): void {
    const r: BenchRow = { scenario, peer: p.label, metric, unit, value, better };
    this.result.rows.push(scale === undefined ? r : { ...r, scale, scaleUnit: SCALE_UNIT });
  }

  private natRows(scenario: string, p: RunningPeer, r: RunResult, scale: number): void {
    if (r.natEntries !== undefined) this.row(scenario, p, 'NAT entries at the end', 'entries', r.natEntries, 'lower', scale);
    this.row(scenario, p, 'NAT drops', 'packets', r.natDrops, 'lower', scale);
  }

  private keep(scenario: string, p: RunningPeer, r: RunResult): void {
    const { perSecond, ...detail } = r.out;
    (this.result.samples ??= []).push({
      scenario,
      scale: r.out.rate,
      peer: p.label,
      series: { ok: perSecond.ok, failed: perSecond.failed },
      detail: { ...detail, served: r.served, natEntries: r.natEntries, natDrops: r.natDrops, dropsByReason: r.dropsByReason, collected: r.collected },
    });
  }

  private async once(p: RunningPeer, backend: Backend, scenario: string, proto: Proto, rate: number, seconds: number): Promise<RunResult> {
    const r = await runFlows(p, backend, proto, rate, seconds);
    console.log(`  ${p.name} ${scenario} at ${rate}/s for ${seconds} s: ${describe(r)}`);
    this.keep(scenario, p, r);
    const note = failureNote(p.label, `${scenario} at ${rate} flows/s`, r);
    if (note) (this.result.notes ??= []).push(note);
    return r;
  }

  async probe(p: RunningPeer, backend: Backend): Promise<void> {
    for (const proto of this.o.protocols) {
      for (let attempt = 1; ; attempt++) {
        const r = await runFlows(p, backend, proto, PROBE_RATE, 1);
        if (r.out.ok === r.out.scheduled) break;
        if (attempt === PROBE_ATTEMPTS) throw new Error(`${proto} probe: ${describe(r)}, in each of ${PROBE_ATTEMPTS} tries`);
        await sleep(PROBE_RETRY_MS);
      }
    }
  }

  async sustained(p: RunningPeer, backend: Backend, proto: Proto): Promise<void> {
    const scenario = `${proto}-sustained`;
    const r = await this.once(p, backend, scenario, proto, this.o.rate, this.o.seconds);
    const s = this.o.rate;
    this.row(scenario, p, 'unanswered flows', `flows in ${this.o.seconds} s`, r.out.scheduled - r.out.ok, 'lower', s);
    this.row(scenario, p, 'answered flows/s', 'flows/s', r.out.ok / this.o.seconds, 'higher', s);
    this.row(scenario, p, 'backend served flows/s', 'flows/s', r.served / this.o.seconds, 'higher', s);
    this.natRows(scenario, p, r, s);
    if (!keptRate(r.out)) this.note(`${p.label} ${scenario}: the generator opened ${r.out.attempted} of ${r.out.scheduled} flows on time (2 CPUs shared with the proxy and the backend)`);
  }

  /** Steps up the ramp until one fails or the generator falls behind; the break-even is the last clean step's rate. */
  async ramp(p: RunningPeer, backend: Backend, proto: Proto): Promise<void> {
    const scenario = `${proto}-ramp`;
    let clean = 0;
    for (const rate of this.o.ramp) {
      const r = await this.once(p, backend, scenario, proto, rate, this.o.rampSeconds);
      this.row(scenario, p, 'failed', '%', 100 * failedFraction(r.out), 'lower', rate);
      this.row(scenario, p, 'answered flows/s', 'flows/s', r.out.ok / this.o.rampSeconds, 'higher', rate);
      this.natRows(scenario, p, r, rate);
      const failed = failedFraction(r.out);
      // A generator that falls behind means the machine is saturated:
      // failures then are not the proxy's alone.
      if (!keptRate(r.out)) {
        const also = failed > 0 ? `, and ${pct(failed)} of those failed` : '';
        this.note(
          `${p.label} ${scenario}: stopped at ${rate} flows/s, where the generator opened only ${r.out.attempted} of ${r.out.scheduled} flows on time${also} ` +
            `(2 CPUs shared by the generator, the proxy and the backend): the break-even is at least the last clean rate`,
        );
        break;
      }
      if (failed >= FAILURE_LIMIT) {
        this.note(`${p.label} ${scenario}: breaks at ${rate} flows/s, ${pct(failed)} of its flows failed`);
        break;
      }
      clean = rate;
    }
    this.row(BREAK_EVEN, p, `${proto.toUpperCase()} ${BREAK_EVEN_METRIC}`, 'flows/s', clean, 'higher');
  }

  note(text: string): void {
    (this.result.notes ??= []).push(text);
  }
}

async function measurePeer(o: Options, cluster: Cluster, services: FlowRateServices, bench: FlowRateRun, result: BenchResult, name: PeerName): Promise<void> {
  const label = PEER_LABELS[name];
  let backend: Backend | undefined;
  let p: RunningPeer | undefined;
  try {
    const b = await createBackend(`bench-fr-${name}-be`);
    backend = b;
    console.log(`starting ${label}`);
    const t0 = performance.now();
    p = await startPeer(name, 0, cluster, b, programmedFor(services), { devices: [EXTERNAL_DEVICE, BACKEND_DEVICE], linked: (slot, nodeNs) => extendSlot(b, slot, nodeNs) });
    await bench.probe(p, b);
    console.log(`  programmed and carrying a probe after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const proto of o.protocols) await bench.sustained(p, b, proto);
    for (const proto of o.protocols) await bench.ramp(p, b, proto);
  } catch (e) {
    result.errors.push(`${label}: ${(e as Error).message.split('\n')[0]}`);
    console.log(`  ${result.errors[result.errors.length - 1]}`);
  } finally {
    await p?.stop();
    await backend?.destroy();
  }
}

function printSummary(result: BenchResult, o: Options): void {
  console.log(`\nnew flows/s through a snat NodePort to one backend on another node; ${describeMachine()}`);
  for (const proto of o.protocols) {
    for (const r of result.rows.filter((x) => x.scenario === `${proto}-sustained` && x.metric === 'unanswered flows')) {
      console.log(`  ${proto} ${r.peer}: ${r.value} unanswered of ${o.rate * o.seconds} at ${o.rate}/s for ${o.seconds} s`);
    }
    for (const r of result.rows.filter((x) => x.scenario === BREAK_EVEN && x.metric.startsWith(proto.toUpperCase()))) console.log(`  ${proto} ${r.peer}: break-even ${r.value} flows/s`);
  }
  for (const n of result.notes ?? []) console.log(`  note: ${n}`);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  assertPrivileged();
  const started = performance.now();
  const result = newResult(BENCH, { ...o });
  const bench = new FlowRateRun(o, result);
  await withFlowRateObjects('bench-fr', async (cluster, services) => {
    for (const name of o.peers) await measurePeer(o, cluster, services, bench, result, name);
  });
  printSummary(result, o);
  finishRun(o.json, result, started);
}

main().catch((e: Error) => {
  console.error(`bench flow-rate: ${e.message}`);
  process.exit(1);
});
