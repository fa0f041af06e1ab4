// Benchmark (make bench, make bench-control-plane), not a test: kpr against a
// real kube-apiserver and etcd (tests/e2e/cluster.ts), at 1k and then 10k
// ClusterIP services of one TCP port and 10 endpoints each.
//   - cold start: agent start to "kpr: ready" with everything programmed
//     (checked in the maps), and the agent's peak resident memory then;
//   - network programming latency: 100 single-endpoint changes, from just
//     before the API write to the change in the maps
//     (control_plane_latency.ts), beside the agent's own histogram.
// Scales are populated in turn (the 10k run adds to the 1k one's objects)
// and each gets a fresh agent, bpf root and test cgroup.
//
// Flags, for shorter or profiled runs: --scales 1000,10000 --changes 100
// --endpoints 10 --concurrency 32, and --cpu-prof DIR: a V8 CPU profile and
// the log of each agent in DIR.
import * as fs from 'fs';
import * as path from 'path';
import { SocketMaps, loadAddon } from '../../lib/datapath/native';
import { Cluster, startCluster } from '../e2e/cluster';
import { ApiWriter } from './control_plane_api';
import { agentNodePid, BenchAgent, lbMapMaxFor, logOffsetMs, startBenchAgent, statusMB } from './control_plane_agent';
import { checkMaps } from './control_plane_maps';
import { LatencyRun, measureLatency } from './control_plane_latency';
import { createBase, initialEndpoints } from './control_plane_objects';
import { populate } from './control_plane_populate';
import { parseScaleOptions, ScaleOptions } from './scale_options';
import { printReport, ScaleResult } from './control_plane_report';

interface Options extends ScaleOptions {
  cpuProfDir?: string;
}

const DEFAULTS: Options = { scales: [1000, 10_000], changes: 100, endpoints: 10, concurrency: 32 };
const READY_TIMEOUT_MS = 120_000;
function parseOptions(args: string[]): Options {
  return parseScaleOptions(args, DEFAULTS, (o, flag, v) => {
    if (flag !== '--cpu-prof' || !v) return false;
    o.cpuProfDir = path.resolve(v);
    return true;
  });
}

/** What the API server holds: each service's ClusterIP and endpoint addresses. */
interface Population {
  clusterIPs: string[];
  endpoints: string[][];
}

async function measureScale(cluster: Cluster, api: ApiWriter, o: Options, pop: Population, firstChange: number): Promise<Omit<ScaleResult, 'populate'>> {
  const { clusterIPs } = pop;
  const services = clusterIPs.length;
  console.log(`starting the agent on ${services} services`);
  const lbMapMax = lbMapMaxFor(services, o.endpoints);
  let agent: BenchAgent | undefined;
  let maps: SocketMaps | undefined;
  try {
    agent = await startBenchAgent({
      source: { kubeconfig: cluster.kubeconfig },
      prefix: `bench-cp-${services}`,
      readyTimeoutMs: READY_TIMEOUT_MS,
      lbMapMax,
      cpuProfDir: o.cpuProfDir,
    });
    // Read at once: the peak so far is the cold start's.
    const pid = agentNodePid(agent.proc.pid as number);
    const peakRssMB = statusMB(pid, 'VmHWM');
    maps = loadAddon().openPinnedSocketMaps(path.join(agent.bpfRoot.path, 'kpr', 'maps'));
    const expected = () => clusterIPs.map((clusterIP, i) => ({ clusterIP, addresses: pop.endpoints[i] }));
    const check = checkMaps(maps, expected());
    const failures = check.mismatches.map((m) => `after ready: ${m}`);
    if (check.matching < services) failures.unshift(`after ready: ${check.matching}/${services} services programmed as created`);
    console.log(`  ready after ${((agent.readyAt - agent.startedAt) / 1000).toFixed(2)} s; ${check.matching}/${services} services in the maps; measuring ${o.changes} changes`);
    const latency: LatencyRun = await measureLatency({
      proc: agent.proc,
      metricsPort: agent.metricsPort,
      api,
      maps,
      clusterIPs,
      current: pop.endpoints,
      changes: o.changes,
      firstChange,
    });
    // Every change is in the maps, and nothing else changed.
    const after = checkMaps(maps, expected());
    if (after.matching < services) failures.push(`after the changes: ${after.matching}/${services} services as last written`, ...after.mismatches);
    return {
      services,
      lbMapMax,
      coldStartMs: agent.readyAt - agent.startedAt,
      firstLogMs: logOffsetMs(agent, ''),
      informersSyncedMs: logOffsetMs(agent, 'kubernetes: informers synced'),
      readySyncLine: agent.proc.lines.find((l) => l.includes(' sync: ')) ?? '',
      peakRssMB,
      programmed: check.matching,
      frontendsInMaps: check.frontends,
      dumpMs: check.dumpMs,
      latency,
      failures: [...failures, ...latency.failures],
    };
  } finally {
    maps?.close();
    await agent?.stop();
    // Beside the profiles: the log says which sync each profile's time went to.
    if (agent && o.cpuProfDir) fs.writeFileSync(path.join(o.cpuProfDir, `agent-${services}.log`), agent.proc.lines.join('\n'));
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  if (o.cpuProfDir) fs.mkdirSync(o.cpuProfDir, { recursive: true });
  console.log('starting kube-apiserver and etcd');
  const cluster = await startCluster({ prefix: 'bench-cp' });
  const api = new ApiWriter(cluster, o.concurrency);
  const results: ScaleResult[] = [];
  try {
    await createBase(api);
    const pop: Population = { clusterIPs: [], endpoints: [] };
    for (const [k, scale] of o.scales.entries()) {
      const from = pop.clusterIPs.length;
      console.log(`populating services ${from}..${scale - 1} (${o.endpoints} endpoints each, ${o.concurrency} requests in flight)`);
      const p = await populate(api, from, scale, o.endpoints);
      pop.clusterIPs.push(...p.clusterIPs);
      for (let i = from; i < scale; i++) pop.endpoints.push(initialEndpoints(i, o.endpoints));
      const populated = { from, servicesMs: p.servicesMs, slicesMs: p.slicesMs };
      results.push({ ...(await measureScale(cluster, api, o, pop, k * o.changes)), populate: populated });
    }
  } finally {
    api.close();
    await cluster.stop();
  }
  printReport(results, o);
  const failures = results.flatMap((r) => r.failures.map((f) => `${r.services} services: ${f}`));
  if (failures.length > 0) throw new Error(`failed:\n${failures.join('\n')}`);
}

main().catch((e: Error) => {
  console.error(`bench control plane: ${e.message}`);
  process.exit(1);
});
