// kpr's run in the peers benchmark: the control-plane benchmark's agent,
// map check and latency measurement (control_plane_*.ts), plus its CPU seconds.
import * as path from 'path';
import { SocketMaps, loadAddon } from '../../lib/datapath/native';
import { Cluster } from '../e2e/cluster';
import { ApiWriter } from './control_plane_api';
import { agentNodePid, BenchAgent, lbMapMaxFor, startBenchAgent, statusMB } from './control_plane_agent';
import { measureLatency } from './control_plane_latency';
import { checkMaps } from './control_plane_maps';
import { cpuSeconds } from './proc_cpu';
import { Population, ProxyResult } from './peers_result';

const READY_TIMEOUT_MS = 300_000;

export async function runKpr(cluster: Cluster, api: ApiWriter, pop: Population, endpoints: number, changes: number, firstChange: number): Promise<ProxyResult> {
  const services = pop.clusterIPs.length;
  let agent: BenchAgent | undefined;
  let maps: SocketMaps | undefined;
  try {
    agent = await startBenchAgent({ source: { kubeconfig: cluster.kubeconfig }, prefix: `bench-peers-kpr`, readyTimeoutMs: READY_TIMEOUT_MS, lbMapMax: lbMapMaxFor(services, endpoints) });
    const pid = agentNodePid(agent.proc.pid as number);
    const cpuAtProgrammed = cpuSeconds(pid);
    maps = loadAddon().openPinnedSocketMaps(path.join(agent.bpfRoot.path, 'kpr', 'maps'));
    const expected = () => pop.clusterIPs.map((clusterIP, i) => ({ clusterIP, addresses: pop.endpoints[i] }));
    const check = checkMaps(maps, expected());
    const failures = check.matching < services ? [`after ready: ${check.matching}/${services} services in the maps`, ...check.mismatches] : [];
    const coldStartMs = agent.readyAt - agent.startedAt;
    console.log(`  kpr: ready after ${(coldStartMs / 1000).toFixed(2)} s, ${check.matching}/${services} services in the maps; ${changes} changes`);
    const latency = await measureLatency({ proc: agent.proc, metricsPort: agent.metricsPort, api, maps, clusterIPs: pop.clusterIPs, current: pop.endpoints, changes, firstChange });
    const after = checkMaps(maps, expected());
    if (after.matching < services) failures.push(`after the changes: ${after.matching}/${services} services as last written`, ...after.mismatches);
    return {
      proxy: 'kpr',
      services,
      coldStartMs,
      cpuAtProgrammed,
      cpuTotal: cpuSeconds(pid),
      peakRssMB: statusMB(pid, 'VmHWM'),
      latencies: latency.latencies,
      latencyBy: 'its "sync: N writes" log line, the first changes confirmed in the maps',
      programming: latency.programming,
      failures: [...failures, ...latency.failures],
    };
  } finally {
    maps?.close();
    await agent?.stop();
  }
}
