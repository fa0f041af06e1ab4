// Benchmark (make bench), not a test: how kpr's cost grows with the number of
// services, in standalone mode, where no API server has to be filled. For each
// --services count (1000 by default; make bench FULL=1: 1000, 10000, 100000)
// of --endpoints endpoints each, a directory of manifest files, one Service +
// EndpointSlice each (IPv6: 198.18.0.0/15 holds too few addresses for 100k
// services of 10 endpoints), and the agent started cold on it:
//   - start to ready, CPU seconds to ready, peak RSS (VmHWM);
//   - --changes endpoint changes, each rewriting one file the way editors do
//     (temporary file, then rename), timed to the agent's first "sync: ... N
//     writes" log line after it, which it prints once its map writes are
//     done, the first 10 confirmed in the maps (control_plane_latency.ts: a
//     dump polled every 1 ms would measure the dump, a second at 100k):
//     change-to-maps p50 and p99, CPU over the changes, RSS after them;
//   - then a second cold start with a CPU profile (control_plane_cpu_prof.ts),
//     its start-up CPU charged to the pipeline's steps (cpu_profile_steps.ts),
//     so that a step growing worse than linearly is seen, and which is largest.
// Writes bench_result.ts's rows (--json PATH overrides the file).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FrontendKey, loadAddon } from '../../lib/datapath/native';
import { serviceManifest, ServiceSpec, writeManifest } from '../helpers/manifests';
import { programmedBackends } from '../helpers/maps';
import { assertPrivileged } from '../helpers/preflight';
import { BenchResult, BenchRow, jsonPath, newResult, writeResult } from './bench_result';
import { agentNodePid, lbMapMaxFor, startBenchAgent, statusMB } from './control_plane_agent';
import { timeChanges } from './control_plane_latency';
import { readProfileSteps } from './cpu_profile_steps';
import { describeMachine } from './machine';
import { totalCpuSeconds } from './proc_cpu';
import { count } from './scale_options';
import { percentile } from './stats';

interface Options {
  services: number[];
  endpoints: number;
  changes: number;
  json: string;
}

const BENCH = 'growth';
const READY_TIMEOUT_MS = 600_000;
const SERVICE_PORT = 80;
const BACKEND_PORT = 8080;
/** Steps named per scale: the largest at the largest scale. */
const STEPS_SHOWN = 8;

const hex = (n: number) => n.toString(16);
/** fd00:198:18::/48 is the tests' IPv6 range; a /64 each for ClusterIPs, endpoints, changed endpoints. */
const serviceIP = (i: number) => `fd00:198:18:1::${hex(i >>> 16)}:${hex(i & 0xffff)}`;
const endpointIP = (n: number) => `fd00:198:18:2::${hex(n >>> 16)}:${hex(n & 0xffff)}`;
/** n < 65536: one group, as the maps give it back. */
const changedIP = (n: number) => `fd00:198:18:3::${hex(n)}`;
const fileName = (i: number) => `svc-${String(i).padStart(6, '0')}.yaml`;
const frontend = (i: number): FrontendKey => ({ addr: serviceIP(i), port: SERVICE_PORT, proto: 'TCP' });

function spec(i: number, endpoints: string[]): ServiceSpec {
  return {
    namespace: 'bench',
    name: `svc-${i}`,
    clusterIPs: [serviceIP(i)],
    ports: [{ name: 'http', port: SERVICE_PORT, targetPort: BACKEND_PORT }],
    endpoints: endpoints.map((addr) => ({ addr })),
  };
}

const initialEndpoints = (i: number, n: number) => Array.from({ length: n }, (_, k) => endpointIP(i * n + k));

function parseOptions(args: string[]): Options {
  const o: Options = { services: [1000], endpoints: 10, changes: 100, json: jsonPath(BENCH, args) };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, v] = [args[i], args[i + 1]];
    if (flag === '--services') o.services = (v ?? '').split(',').map((s) => count(flag, s));
    else if (flag === '--endpoints') o.endpoints = count(flag, v);
    else if (flag === '--changes') o.changes = count(flag, v);
    else if (flag !== '--json') throw new Error(`unknown flag or missing value: ${flag}`);
  }
  if (o.services.some((s, k) => k > 0 && s <= o.services[k - 1])) throw new Error('--services must increase');
  if (o.changes >= 65536) throw new Error('--changes takes fewer than 65536');
  return o;
}

const start = (dir: string, services: number, endpoints: number, cpuProfDir?: string) =>
  startBenchAgent({ source: { manifests: dir }, prefix: 'bench-growth', readyTimeoutMs: READY_TIMEOUT_MS, lbMapMax: lbMapMaxFor(services, endpoints), cpuProfDir });

async function measureScale(o: Options, services: number, result: BenchResult, stepsByScale: Map<number, [string, number][]>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-bench-growth-'));
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-bench-growth-prof-'));
  const row = (scenario: string, metric: string, unit: string, value: number): BenchRow => ({ scenario, scale: services, scaleUnit: 'services', peer: 'kpr', metric, unit, value, better: 'lower' });
  try {
    const t0 = performance.now();
    for (let i = 0; i < services; i++) writeManifest(dir, fileName(i), serviceManifest(spec(i, initialEndpoints(i, o.endpoints))));
    console.log(`${services} services of ${o.endpoints} endpoints: manifests written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const agent = await start(dir, services, o.endpoints);
    const pid = agentNodePid(agent.proc.pid as number);
    const readyMs = agent.readyAt - agent.startedAt;
    const cpuReady = totalCpuSeconds(pid);
    const latencies: number[] = [];
    try {
      console.log(`  ready after ${(readyMs / 1000).toFixed(2)} s, ${cpuReady.toFixed(2)} s of CPU, peak RSS ${statusMB(pid, 'VmHWM').toFixed(0)} MB`);
      const maps = loadAddon().openPinnedSocketMaps(path.join(agent.bpfRoot.path, 'kpr', 'maps'));
      try {
        const times = await timeChanges({
          proc: agent.proc,
          changes: o.changes,
          services,
          async write(n, i) {
            const addr = changedIP(n + 1);
            writeManifest(dir, fileName(i), serviceManifest(spec(i, [addr, ...initialEndpoints(i, o.endpoints).slice(1)])));
            return { what: `${fileName(i)} -> ${addr}`, inMaps: () => programmedBackends(maps, frontend(i)).some((b) => b.addr === addr && b.port === BACKEND_PORT) };
          },
        });
        latencies.push(...times.latencies);
        result.errors.push(...times.failures.map((f) => `${services} services: ${f}`));
        if (times.lateConfirms) (result.notes ??= []).push(`${services} services: ${times.lateConfirms} of ${times.confirmed} confirmed changes were not in the maps at their sync's log line (timed by the maps)`);
      } finally {
        maps.close();
      }
      result.rows.push(
        row('growth-cold-start', 'start to ready', 's', readyMs / 1000),
        row('growth-cpu', 'CPU to ready', 's', cpuReady),
        row('growth-cpu', `CPU over ${o.changes} changes`, 's', totalCpuSeconds(pid) - cpuReady),
        row('growth-rss', 'peak RSS (VmHWM)', 'MB', statusMB(pid, 'VmHWM')),
        row('growth-rss', 'RSS after the changes (VmRSS)', 'MB', statusMB(pid, 'VmRSS')),
        // The p50 row keeps every change's time (its median is the p50), so that the p99 can be re-checked.
        ...(latencies.length ? [{ ...row('growth-change-latency', 'change to maps p50', 'ms', percentile(latencies, 50)), rounds: latencies }, row('growth-change-latency', 'change to maps p99', 'ms', percentile(latencies, 99))] : []),
      );
      if (latencies.length) {
        const slowest = latencies.map((ms, n) => ({ ms, n })).sort((a, b) => b.ms - a.ms).slice(0, 3);
        console.log(`  ${latencies.length} changes: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms; slowest ${slowest.map((x) => `#${x.n + 1} ${x.ms.toFixed(0)} ms`).join(', ')}`);
      }
    } finally {
      await agent.stop();
    }
    // Profiled apart: sampling every 200 us slows the run it watches.
    const profiled = await start(dir, services, o.endpoints, profDir);
    await profiled.stop();
    const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`${services} services: the profiled agent wrote no profile into ${profDir}`);
    stepsByScale.set(services, readProfileSteps(path.join(profDir, file)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(profDir, { recursive: true, force: true });
  }
}

/** The largest steps at the largest scale, at every scale; and how each grew from scale to scale. */
function stepRows(stepsByScale: Map<number, [string, number][]>, result: BenchResult): void {
  const scales = [...stepsByScale.keys()].sort((a, b) => a - b);
  const largest = stepsByScale.get(scales[scales.length - 1]) ?? [];
  const shown = largest.slice(0, STEPS_SHOWN).map(([s]) => s);
  for (const scale of scales) {
    const steps = new Map(stepsByScale.get(scale));
    for (const s of shown) result.rows.push({ scenario: 'growth-steps', scale, scaleUnit: 'services', peer: 'kpr', metric: `CPU to ready in ${s}`, unit: 'ms', value: steps.get(s) ?? 0, better: 'lower' });
  }
  for (let k = 1; k < scales.length; k++) {
    const [a, b] = [scales[k - 1], scales[k]];
    const [from, to] = [new Map(stepsByScale.get(a)), new Map(stepsByScale.get(b))];
    // A step under a millisecond at the smaller scale is a sample or two: no base for a ratio.
    const growth = shown.map((s) => {
      const [x, y] = [from.get(s) ?? 0, to.get(s) ?? 0];
      return x < 1 ? `${s} ${x.toFixed(1)} -> ${y.toFixed(1)} ms` : `${s} x${(y / x).toFixed(1)}`;
    });
    (result.notes ??= []).push(`CPU to ready, ${a} -> ${b} services (x${b / a} services; linear would be x${b / a}): ${growth.join(', ')}`);
  }
  if (largest.length) {
    const total = largest.reduce((sum, [, ms]) => sum + ms, 0);
    (result.notes ??= []).push(`largest step at ${scales[scales.length - 1]} services: ${largest[0][0]}, ${largest[0][1].toFixed(0)} of ${total.toFixed(0)} ms of profiled CPU`);
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  assertPrivileged();
  const result = newResult(BENCH, { ...o, changesTimedBy: 'the agent\'s first sync log line with map writes after each write' });
  console.log(`cost growth in standalone mode; ${describeMachine()}`);
  const stepsByScale = new Map<number, [string, number][]>();
  for (const services of o.services) {
    try {
      await measureScale(o, services, result, stepsByScale);
    } catch (e) {
      result.errors.push(`${services} services: ${(e as Error).message.split('\n')[0]}`);
      console.log(`  ${result.errors[result.errors.length - 1]}`);
    }
  }
  stepRows(stepsByScale, result);
  for (const n of result.notes ?? []) console.log(`note: ${n}`);
  writeResult(o.json, result);
  if (result.errors.length > 0) throw new Error(`failed:\n${result.errors.join('\n')}`);
}

main().catch((e: Error) => {
  console.error(`bench growth: ${e.message}`);
  process.exit(1);
});
