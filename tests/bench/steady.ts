// Benchmark (make bench FULL=1), not a test: the agent in steady state, beside
// kube-proxy nftables in the same run. A real kube-apiserver filled with
// --services ClusterIP services of --endpoints endpoints (10k x 10); each proxy
// in turn started cold against it with the settings operators run (both
// proxies' defaults: minSyncPeriod 1s, a full sync every 30 s), and once it has
// programmed everything, --minutes of --rate single-endpoint changes per
// second through the API server (5/s, paced) while its resident memory
// (VmRSS) and CPU seconds (with children: kube-proxy's nft runs) are sampled
// every --sample-seconds. Rows: RSS at the end and at most over the run, and
// CPU over the run; the samples are kept in the results file.
//
// Flags: --services 10000 --endpoints 10 --minutes 10 --rate 5 --sample-seconds 10
// --proxies kpr,nftables --json PATH (default benchmarks/results/steady.json).
import { Cluster, startCluster } from '../e2e/cluster';
import { assertPrivileged } from '../helpers/preflight';
import { sleep } from '../helpers/sleep';
import { BenchResult, jsonPath, newResult, Peer, writeResult } from './bench_result';
import { ApiWriter } from './control_plane_api';
import { agentNodePid, lbMapMaxFor, startBenchAgent, statusMB } from './control_plane_agent';
import { changedEndpoint, createBase, initialEndpoints, MAX_CHANGES, replaceEndpoints } from './control_plane_objects';
import { populate } from './control_plane_populate';
import { startKubeProxy } from './kube_proxy_peer';
import { ProxyMode } from './kube_proxy_rules';
import { waitProgrammed } from './peers_kube_proxy';
import { Population } from './peers_result';
import { totalCpuSeconds } from './proc_cpu';
import { count } from './scale_options';

type SteadyProxy = 'kpr' | ProxyMode;
const PROXIES: SteadyProxy[] = ['kpr', 'iptables', 'iptables-legacy', 'nftables'];
const LABELS: Record<SteadyProxy, Peer> = { kpr: 'kpr', iptables: 'kube-proxy iptables', 'iptables-legacy': 'kube-proxy iptables-legacy', nftables: 'kube-proxy nftables' };

interface Options {
  services: number;
  endpoints: number;
  minutes: number;
  rate: number;
  sampleSeconds: number;
  proxies: SteadyProxy[];
  json: string;
}

const BENCH = 'steady';
/** Both proxies' default: changes within a second are synced together. */
const MIN_SYNC_PERIOD = '1s';
const READY_TIMEOUT_MS = 300_000;
// As control_plane_latency.ts: successive changes touch different slices.
const STRIDE = 37;

function parseOptions(args: string[]): Options {
  const o: Options = { services: 10_000, endpoints: 10, minutes: 10, rate: 5, sampleSeconds: 10, proxies: ['kpr', 'nftables'], json: jsonPath(BENCH, args) };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, v] = [args[i], args[i + 1]];
    if (flag === '--services') o.services = count(flag, v);
    else if (flag === '--endpoints') o.endpoints = count(flag, v);
    else if (flag === '--minutes') o.minutes = count(flag, v);
    else if (flag === '--rate') o.rate = count(flag, v);
    else if (flag === '--sample-seconds') o.sampleSeconds = count(flag, v);
    else if (flag === '--proxies') {
      o.proxies = (v ?? '').split(',') as SteadyProxy[];
      if (o.proxies.some((p) => !PROXIES.includes(p))) throw new Error(`--proxies takes a comma-separated list of ${PROXIES.join(',')}, got ${JSON.stringify(v)}`);
    } else if (flag !== '--json') throw new Error(`unknown flag or missing value: ${flag}`);
  }
  return o;
}

interface Running {
  /** The process whose memory and CPU are read (kpr's node process; kube-proxy itself). */
  pid: number;
  stop(): Promise<void>;
}

async function start(proxy: SteadyProxy, cluster: Cluster, pop: Population, endpoints: number): Promise<Running> {
  if (proxy === 'kpr') {
    const agent = await startBenchAgent({
      source: { kubeconfig: cluster.kubeconfig },
      prefix: 'bench-steady-kpr',
      readyTimeoutMs: READY_TIMEOUT_MS,
      lbMapMax: lbMapMaxFor(pop.clusterIPs.length, endpoints),
      minSyncPeriod: MIN_SYNC_PERIOD,
    });
    return { pid: agentNodePid(agent.proc.pid as number), stop: () => agent.stop() };
  }
  const kp = await startKubeProxy(cluster, proxy, MIN_SYNC_PERIOD);
  try {
    await waitProgrammed(kp, pop, endpoints, []);
  } catch (e) {
    await kp.stop();
    throw e;
  }
  return { pid: kp.pid, stop: () => kp.stop() };
}

/** Paced changes for the run, and the samples taken meanwhile. */
async function steadyRun(o: Options, api: ApiWriter, pop: Population, r: Running, firstChange: number): Promise<{ t: number[]; rssMB: number[]; cpuS: number[]; changes: number; lateChanges: number }> {
  const services = pop.clusterIPs.length;
  const cpu = () => totalCpuSeconds(r.pid);
  const cpu0 = cpu();
  const t0 = performance.now();
  const endMs = o.minutes * 60_000;
  const series = { t: [] as number[], rssMB: [] as number[], cpuS: [] as number[] };
  let nextSample = 0;
  let n = 0;
  let late = 0;
  for (;;) {
    const now = performance.now() - t0;
    if (now >= nextSample) {
      series.t.push(Math.round(now / 1000));
      series.rssMB.push(statusMB(r.pid, 'VmRSS'));
      series.cpuS.push(cpu() - cpu0);
      nextSample += o.sampleSeconds * 1000;
    }
    if (now >= endMs) break;
    const due = (n * 1000) / o.rate;
    if (now < due) {
      await sleep(Math.min(due - now, nextSample - now));
      continue;
    }
    if (now - due > 1000) late++;
    const i = (n * STRIDE) % services;
    const addresses = [changedEndpoint((firstChange + n) % MAX_CHANGES), ...pop.endpoints[i].slice(1)];
    await replaceEndpoints(api, i, addresses, new Date());
    pop.endpoints[i] = addresses;
    n++;
  }
  return { ...series, changes: n, lateChanges: late };
}

async function measure(o: Options, cluster: Cluster, api: ApiWriter, pop: Population, result: BenchResult, proxy: SteadyProxy, firstChange: number): Promise<number> {
  const label = LABELS[proxy];
  console.log(`${label}: starting on ${o.services} services`);
  const r = await start(proxy, cluster, pop, o.endpoints);
  try {
    console.log(`  programmed; ${o.minutes} min of ${o.rate} changes/s, sampled every ${o.sampleSeconds} s`);
    const s = await steadyRun(o, api, pop, r, firstChange);
    const peak = statusMB(r.pid, 'VmHWM');
    const at = { scale: o.services, scaleUnit: 'services', peer: label } as const;
    const cpuTotal = s.cpuS[s.cpuS.length - 1];
    result.rows.push(
      { ...at, scenario: 'steady-rss', metric: 'RSS at the end (VmRSS)', unit: 'MB', value: s.rssMB[s.rssMB.length - 1], better: 'lower' },
      { ...at, scenario: 'steady-rss', metric: 'highest RSS sampled', unit: 'MB', value: Math.max(...s.rssMB), better: 'lower' },
      { ...at, scenario: 'steady-rss', metric: 'peak RSS since start (VmHWM)', unit: 'MB', value: peak, better: 'lower' },
      { ...at, scenario: 'steady-cpu', metric: `CPU over ${o.minutes} min`, unit: 's', value: cpuTotal, better: 'lower' },
    );
    (result.samples ??= []).push({ scenario: 'steady', scale: o.services, peer: label, series: { t: s.t, rssMB: s.rssMB, cpuS: s.cpuS }, detail: { changes: s.changes, lateChanges: s.lateChanges } });
    if (s.lateChanges > 0) (result.notes ??= []).push(`${label}: ${s.lateChanges} of ${s.changes} changes were written more than 1 s late (the API server or the machine fell behind)`);
    console.log(`  ${s.changes} changes; RSS ${s.rssMB[0].toFixed(0)} -> ${s.rssMB[s.rssMB.length - 1].toFixed(0)} MB (highest ${Math.max(...s.rssMB).toFixed(0)}, VmHWM ${peak.toFixed(0)}); CPU ${cpuTotal.toFixed(1)} s`);
    return s.changes;
  } finally {
    await r.stop();
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  assertPrivileged();
  const result = newResult(BENCH, { ...o, minSyncPeriod: MIN_SYNC_PERIOD, syncPeriod: '30s (both defaults)' });
  console.log('starting kube-apiserver and etcd');
  const cluster = await startCluster({ prefix: 'bench-steady' });
  const api = new ApiWriter(cluster, 32);
  try {
    await createBase(api);
    console.log(`populating ${o.services} services (${o.endpoints} endpoints each)`);
    const p = await populate(api, 0, o.services, o.endpoints);
    const pop: Population = { clusterIPs: p.clusterIPs, endpoints: p.clusterIPs.map((_, i) => initialEndpoints(i, o.endpoints)) };
    let firstChange = 0;
    for (const proxy of o.proxies) {
      try {
        firstChange += await measure(o, cluster, api, pop, result, proxy, firstChange);
      } catch (e) {
        result.errors.push(`${LABELS[proxy]} at ${o.services} services: ${(e as Error).message.split('\n')[0]}`);
        console.log(`  ${result.errors[result.errors.length - 1]}`);
      }
    }
  } finally {
    api.close();
    await cluster.stop();
  }
  writeResult(o.json, result);
  if (result.errors.length > 0) throw new Error(`failed:\n${result.errors.join('\n')}`);
}

main().catch((e: Error) => {
  console.error(`bench steady: ${e.message}`);
  process.exit(1);
});
