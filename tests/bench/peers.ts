// Benchmark (make bench-peers, part of make bench), not a test: the control
// plane of kpr side by side with real kube-proxy in iptables and in nftables
// mode (kube_proxy_peer.ts), each started cold, in turn, against the same
// kube-apiserver and etcd filled with ClusterIP services of 10 endpoints:
//   - time from start to everything programmed (kpr: its maps; kube-proxy:
//     its ruleset, dumped in its own node network namespace);
//   - latency of single endpoint changes, API write to programmed, p50/p99,
//     beside each proxy's own kubeproxy_network_programming_duration_seconds;
//   - CPU seconds (its own and its children's) and peak RSS of each proxy.
//
// Flags: --scales 1000[,5000,...] --changes 50 --endpoints 10 --concurrency 32
// --proxies kpr,iptables,nftables --json PATH (results, bench_result.ts;
// each kube-proxy's log beside it).
import { startCluster } from '../e2e/cluster';
import { assertPrivileged } from '../helpers/preflight';
import { ApiWriter } from './control_plane_api';
import { createBase, initialEndpoints } from './control_plane_objects';
import { populate } from './control_plane_populate';
import { ProxyMode } from './kube_proxy_rules';
import { runKpr } from './peers_kpr';
import { runKubeProxy } from './peers_kube_proxy';
import { jsonPath, newResult, writeResult } from './bench_result';
import { peersRows, printPeersReport } from './peers_report';
import { Population, ProxyResult } from './peers_result';
import { parseScaleOptions, ScaleOptions } from './scale_options';

type Proxy = 'kpr' | ProxyMode;
const ALL_PROXIES: Proxy[] = ['kpr', 'iptables', 'iptables-legacy', 'nftables'];

interface Options extends ScaleOptions {
  proxies: Proxy[];
  json: string;
}

const BENCH = 'control-plane-peers';
const DEFAULTS: Omit<Options, 'json'> = { scales: [1000], changes: 50, endpoints: 10, concurrency: 32, proxies: ALL_PROXIES };

function parseOptions(args: string[]): Options {
  const extra = (opts: Options, flag: string, v: string | undefined) => {
    if (!v) return false;
    // jsonPath() below has read it.
    if (flag === '--json') return true;
    if (flag === '--proxies') {
      opts.proxies = v.split(',') as Proxy[];
      if (opts.proxies.some((p) => !ALL_PROXIES.includes(p))) throw new Error(`--proxies takes ${ALL_PROXIES.join(',')}`);
      return true;
    }
    return false;
  };
  // Every proxy makes its own run of changes at every scale.
  return parseScaleOptions(args, { ...DEFAULTS, json: jsonPath(BENCH, args) }, extra, (o) => o.proxies.length);
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  assertPrivileged();
  const result = newResult(BENCH, { ...o });
  console.log('starting kube-apiserver and etcd');
  const cluster = await startCluster({ prefix: 'bench-peers' });
  const api = new ApiWriter(cluster, o.concurrency);
  const results: ProxyResult[] = [];
  const errors: string[] = [];
  // A proxy that could not program a scale would only spend its whole timeout again at a larger one.
  const failedAt = new Map<Proxy, { scale: number; why: string }>();
  let firstChange = 0;
  try {
    await createBase(api);
    const pop: Population = { clusterIPs: [], endpoints: [] };
    for (const scale of o.scales) {
      const from = pop.clusterIPs.length;
      console.log(`populating services ${from}..${scale - 1} (${o.endpoints} endpoints each)`);
      const p = await populate(api, from, scale, o.endpoints);
      pop.clusterIPs.push(...p.clusterIPs);
      for (let i = from; i < scale; i++) pop.endpoints.push(initialEndpoints(i, o.endpoints));
      for (const proxy of o.proxies) {
        const failed = failedAt.get(proxy);
        if (failed !== undefined) {
          errors.push(`${proxy} at ${scale} services: not run, it failed at ${failed.scale} services (${failed.why})`);
          console.log(errors[errors.length - 1]);
          continue;
        }
        console.log(`${proxy} on ${scale} services`);
        // A proxy that fails (e.g. is not programmed in time) is reported; the others still run.
        try {
          const r = proxy === 'kpr' ? await runKpr(cluster, api, pop, o.endpoints, o.changes, firstChange) : await runKubeProxy(cluster, api, pop, proxy, o.endpoints, o.changes, firstChange, o.json.replace(/(\.json)?$/, `-kube-proxy-${proxy}-${scale}.log`));
          results.push(r);
        } catch (e) {
          const why = (e as Error).message.split('\n')[0];
          errors.push(`${proxy} at ${scale} services: ${why}`);
          failedAt.set(proxy, { scale, why });
          console.log(`  ${errors[errors.length - 1]}`);
        }
        firstChange += o.changes;
      }
    }
  } finally {
    api.close();
    await cluster.stop();
  }
  printPeersReport(results, o);
  const failures = [...errors, ...results.flatMap((r) => r.failures.map((f) => `${r.proxy} at ${r.services} services: ${f}`))];
  writeResult(o.json, { ...result, rows: peersRows(results), errors: failures });
  if (failures.length > 0) throw new Error(`failed:\n${failures.join('\n')}`);
}

main().catch((e: Error) => {
  console.error(`bench peers: ${e.message}`);
  process.exit(1);
});
