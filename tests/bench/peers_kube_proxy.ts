// kube-proxy's run in the peers benchmark: started cold on its own node
// namespace (kube_proxy_peer.ts), its ruleset dumped until it holds every
// service and endpoint, then single endpoint changes written through the API
// server (as kpr's run writes them), each timed from just before the write to
// the first dump that holds the new endpoint. A dump takes tens of ms at 1k
// services, so both times are upper bounds by about one dump; the report
// gives the dump time and kube-proxy's own histogram beside them.
import * as fs from 'fs';
import { ApiWriter } from './control_plane_api';
import { histogramDelta, parseHistogram } from './control_plane_metrics';
import { BACKEND_PORT, changedEndpoint, replaceEndpoints } from './control_plane_objects';
import { Cluster } from '../e2e/cluster';
import { statusMB } from './control_plane_agent';
import { checkRules, dumpRules, hasTarget, ProxyMode } from './kube_proxy_rules';
import { IPV4_SERIES, KubeProxyPeer, metricValue, startKubeProxy } from './kube_proxy_peer';
import { cpuSeconds, runningChildren } from './proc_cpu';
import { Population, ProxyResult } from './peers_result';
import { sleep } from '../helpers/sleep';

const READY_TIMEOUT_MS = 300_000;
const CHANGE_TIMEOUT_MS = 20_000;
const POLL_MS = 20;
const PROGRESS_EVERY_MS = 10_000;
const MAX_FAILURES = 5;
// As control_plane_latency.ts: successive changes touch different slices.
const STRIDE = 37;
const PROGRAMMING_METRIC = 'kubeproxy_network_programming_duration_seconds';
const LAST_SYNC_METRIC = 'kubeproxy_sync_proxy_rules_last_timestamp_seconds';

export interface KubeProxyExtra {
  /** Mean time of one ruleset dump, ms. */
  dumpMs: number;
}

/** performance.now() of the first dump that holds every service and endpoint of pop. */
export async function waitProgrammed(kp: KubeProxyPeer, pop: Population, endpoints: number, dumpMs: number[]): Promise<number> {
  const services = pop.clusterIPs.length;
  const deadline = kp.startedAt + READY_TIMEOUT_MS;
  let progressAt = kp.startedAt + PROGRESS_EVERY_MS;
  for (;;) {
    const t0 = performance.now();
    const text = dumpRules(kp.netns, kp.mode);
    const now = performance.now();
    dumpMs.push(now - t0);
    const c = checkRules(text, pop.clusterIPs);
    if (c.clusterIPs === services && c.dnatTargets >= services * endpoints) return now;
    if (now > deadline) {
      // The first line is what the report quotes: what kube-proxy was doing, in its own words where it has any.
      const doing = runningChildren(kp.pid);
      const last = kp.proc.lines[kp.proc.lines.length - 1] ?? '';
      throw new Error(
        `kube-proxy ${kp.mode}: ${c.clusterIPs}/${services} services, ${c.dnatTargets} endpoints after ${READY_TIMEOUT_MS} ms; ` +
          `${doing.length ? `still running ${doing.join(', ')}` : 'no child process running'}; its last log line: ${last}\n${kp.proc.logTail()}`,
      );
    }
    if (now > progressAt) {
      progressAt += PROGRESS_EVERY_MS;
      console.log(`  ${c.clusterIPs}/${services} services, ${c.dnatTargets} endpoints; last log line: ${kp.proc.lines[kp.proc.lines.length - 1] ?? ''}`);
    }
    if (kp.proc.lines.some((l) => /^F\d{4}/.test(l))) throw new Error(`kube-proxy ${kp.mode} failed:\n${kp.proc.logTail()}`);
    await sleep(POLL_MS);
  }
}

/** performance.now() of the first dump at or after `start` that holds `target`; undefined by the timeout. */
async function waitTarget(kp: KubeProxyPeer, target: string, start: number, dumpMs: number[]): Promise<number | undefined> {
  for (;;) {
    const t0 = performance.now();
    const text = dumpRules(kp.netns, kp.mode);
    const now = performance.now();
    dumpMs.push(now - t0);
    if (hasTarget(text, target)) return now;
    if (now - start > CHANGE_TIMEOUT_MS) return undefined;
    await sleep(POLL_MS);
  }
}

export async function runKubeProxy(cluster: Cluster, api: ApiWriter, pop: Population, mode: ProxyMode, endpoints: number, changes: number, firstChange: number, logFile: string): Promise<ProxyResult & KubeProxyExtra> {
  const services = pop.clusterIPs.length;
  const startedWallMs = Date.now();
  const kp = await startKubeProxy(cluster, mode);
  const dumpMs: number[] = [];
  const failures: string[] = [];
  try {
    const programmedAt = await waitProgrammed(kp, pop, endpoints, dumpMs);
    const cpuAtProgrammed = cpuSeconds(kp.pid);
    const coldStartMs = programmedAt - kp.startedAt;
    const firstScrape = kp.scrape();
    const lastSync = metricValue(firstScrape, LAST_SYNC_METRIC);
    console.log(`  kube-proxy ${mode}: programmed after ${(coldStartMs / 1000).toFixed(2)} s; ${changes} changes`);
    const latencies: number[] = [];
    for (let n = 0; n < changes && failures.length < MAX_FAILURES; n++) {
      const i = (n * STRIDE) % services;
      const addresses = [changedEndpoint(firstChange + n), ...pop.endpoints[i].slice(1)];
      const start = performance.now();
      await replaceEndpoints(api, i, addresses, new Date());
      pop.endpoints[i] = addresses;
      const at = await waitTarget(kp, `${addresses[0]}:${BACKEND_PORT}`, start, dumpMs);
      if (at === undefined) failures.push(`change ${n + 1} (service ${i} -> ${addresses[0]}): not in the ruleset after ${CHANGE_TIMEOUT_MS} ms`);
      else latencies.push(at - start);
    }
    const lastScrape = kp.scrape();
    let programming;
    try {
      // The series appears with its first observation: none before the changes.
      const before = firstScrape.includes(`${PROGRAMMING_METRIC}_count{`) ? parseHistogram(firstScrape, PROGRAMMING_METRIC, IPV4_SERIES) : { buckets: [], sum: 0, count: 0 };
      programming = histogramDelta(parseHistogram(lastScrape, PROGRAMMING_METRIC, IPV4_SERIES), before);
    } catch (e) {
      failures.push((e as Error).message);
    }
    return {
      proxy: `kube-proxy ${mode}`,
      services,
      coldStartMs,
      coldStartByMetricMs: lastSync === undefined ? undefined : lastSync * 1000 - startedWallMs,
      cpuAtProgrammed,
      cpuTotal: cpuSeconds(kp.pid),
      peakRssMB: statusMB(kp.pid, 'VmHWM'),
      latencies,
      latencyBy: `the first ruleset dump holding the new endpoint, polled every ${POLL_MS} ms`,
      programming,
      failures,
      dumpMs: dumpMs.reduce((a, b) => a + b, 0) / dumpMs.length,
    };
  } finally {
    await kp.stop();
    fs.writeFileSync(logFile, kp.proc.lines.join('\n'));
  }
}
