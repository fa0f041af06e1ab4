// The control-plane benchmark's results: one column per scale, each figure
// beside its target, with MISSED where a scale misses it (a missed target is
// reported, not a failure: failures are wrong or missing map contents).
import { kubeVersions } from '../e2e/cluster';
import { LatencyRun } from './control_plane_latency';
import { mean, percentileBound } from './control_plane_metrics';
import { describeMachine } from './machine';
import { percentile } from './stats';

export interface ScaleResult {
  services: number;
  /** The agent's --bpf-lb-map-max. */
  lbMapMax: number;
  populate: { from: number; servicesMs: number; slicesMs: number };
  coldStartMs: number;
  /** From the agent's start, by its log's timestamps. */
  firstLogMs?: number;
  informersSyncedMs?: number;
  /** The first sync's log line (its duration and writes). */
  readySyncLine: string;
  peakRssMB: number;
  programmed: number;
  frontendsInMaps: number;
  dumpMs: number;
  latency: LatencyRun;
  failures: string[];
}

const TARGETS = { p99Ms: 100, coldStartMs: 5000, peakRssMB: 200 };

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const ms = (v: number) => v.toFixed(1);
const missed = (bad: boolean) => (bad ? ' MISSED' : '');
const rate = (n: number, ms: number) => `${Math.round((n * 1000) / ms)}/s`;

function row(label: string, cells: string[], target = ''): string {
  return `  ${label.padEnd(44)}${cells.map((c) => c.padEnd(34)).join('')}${target}`;
}

/** "210001 writes, 814 ms" from the agent's "sync: ... N writes in Tms" line. */
function firstSync(line: string): string {
  const m = / (\d+) writes in ([\d.]+)ms/.exec(line);
  return m ? `${m[1]} writes, ${Math.round(Number(m[2]))} ms` : '?';
}

function latencyCell(l: LatencyRun): string {
  if (l.latencies.length === 0) return 'none measured';
  const p99 = percentile(l.latencies, 99);
  return `${ms(percentile(l.latencies, 50))} / ${ms(p99)} / ${ms(percentile(l.latencies, 100))}${missed(p99 >= TARGETS.p99Ms)}`;
}

function agentHistogramCell(l: LatencyRun): string {
  const h = l.programming;
  if (h.count === 0) return 'no observations';
  return `n=${h.count} mean ${ms(mean(h) * 1000)} ms, p99 <= ${percentileBound(h, 99)} s`;
}

export function printReport(results: ScaleResult[], o: { changes: number; endpoints: number; concurrency: number }): void {
  const v = kubeVersions();
  console.log(`\ncontrol plane: kpr against kube-apiserver ${v.KUBE_VERSION} + etcd ${v.ETCD_VERSION ?? ''} on loopback`);
  console.log(`ClusterIP services of 1 TCP port, one EndpointSlice of ${o.endpoints} ready endpoints each; --min-sync-period 0s`);
  console.log(`machine: ${describeMachine()}`);
  for (const r of results) {
    const n = r.services - r.populate.from;
    console.log(
      `populating services ${r.populate.from}..${r.services - 1} (${o.concurrency} requests in flight): ` +
        `${n} services in ${s(r.populate.servicesMs)} (${rate(n, r.populate.servicesMs)}), ` +
        `${n} endpointslices in ${s(r.populate.slicesMs)} (${rate(n, r.populate.slicesMs)})`,
    );
  }
  const each = (f: (r: ScaleResult) => string) => results.map(f);
  const offset = (v?: number) => (v === undefined ? '?' : s(v));
  console.log('');
  console.log(row('', each((r) => `${r.services} services`), 'target'));
  console.log(row('cold start: agent start -> kpr: ready', each((r) => `${s(r.coldStartMs)}${missed(r.coldStartMs >= TARGETS.coldStartMs)}`), `< ${TARGETS.coldStartMs / 1000} s`));
  console.log(row('  first log line / informers synced at', each((r) => `${offset(r.firstLogMs)} / ${offset(r.informersSyncedMs)}`)));
  console.log(row('  first sync: map writes, time', each((r) => firstSync(r.readySyncLine))));
  console.log(row('peak RSS (VmHWM) at ready', each((r) => `${r.peakRssMB.toFixed(0)} MB${missed(r.peakRssMB >= TARGETS.peakRssMB)}`), `< ${TARGETS.peakRssMB} MB`));
  console.log(row('--bpf-lb-map-max', each((r) => String(r.lbMapMax))));
  console.log(row('services programmed / frontends in maps', each((r) => `${r.programmed} / ${r.frontendsInMaps}`)));
  console.log(row(`endpoint change -> maps, ${o.changes} changes`, each(() => 'p50 / p99 / max ms')));
  console.log(row('', each((r) => latencyCell(r.latency)), `p99 < ${TARGETS.p99Ms} ms`));
  console.log(row('  confirmed by a dump / only by a later one', each((r) => `${r.latency.confirmed} / ${r.latency.lateConfirms}`)));
  console.log(row('  agent sync time of a change p50 / p99', each((r) => (r.latency.syncMs.length ? `${ms(percentile(r.latency.syncMs, 50))} / ${ms(percentile(r.latency.syncMs, 99))} ms` : '?'))));
  console.log(row('  agent network_programming_duration', each((r) => agentHistogramCell(r.latency))));
  console.log(row('  agent sync_proxy_rules_duration mean', each((r) => (r.latency.syncs.count ? `${ms(mean(r.latency.syncs) * 1000)} ms (n=${r.latency.syncs.count})` : '?'))));
  console.log(row('map dump + check (not in the timings)', each((r) => `${ms(r.dumpMs)} ms`)));
}
