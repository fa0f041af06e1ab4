// The peers benchmark's table: one column per proxy at each scale, and the
// ratio of each kube-proxy mode's figure to kpr's (above 1: kpr does better).
import { kubeVersions } from '../e2e/cluster';
import { BenchRow } from './bench_result';
import { mean, percentileBound } from './control_plane_metrics';
import { describeMachine } from './machine';
import { ProxyResult } from './peers_result';
import { percentile } from './stats';

type Row = ProxyResult & { dumpMs?: number };

const cpu = (c: { self: number; children: number }) => c.self + c.children;
const fixed = (v: number | undefined, d: number) => (v === undefined || Number.isNaN(v) ? '?' : v.toFixed(d));

function row(label: string, cells: string[]): string {
  return `  ${label.padEnd(42)}${cells.map((c) => c.padEnd(28)).join('')}`;
}

export function printPeersReport(results: Row[], o: { endpoints: number; changes: number }): void {
  const v = kubeVersions();
  console.log(`\ncontrol plane, kpr vs kube-proxy ${v.KUBE_VERSION} (iptables on the nft and the legacy backend, nftables), each cold against the same kube-apiserver + etcd ${v.ETCD_VERSION ?? ''}`);
  console.log(`ClusterIP services of 1 TCP port, ${o.endpoints} ready endpoints each; min sync period 0s for all (kube-proxy iptables: the host's iptables-nft; iptables-legacy: the legacy backend); ${o.changes} single-endpoint changes each`);
  console.log(`machine: ${describeMachine()}`);
  for (const services of [...new Set(results.map((r) => r.services))]) {
    const rs = results.filter((r) => r.services === services);
    const kpr = rs.find((r) => r.proxy === 'kpr');
    const peers = rs.filter((r) => r.proxy !== 'kpr');
    const cells = (f: (r: Row) => number | undefined, d: number) => [
      ...rs.map((r) => fixed(f(r), d)),
      ...peers.map((p) => {
        const [a, b] = [f(p), kpr ? f(kpr) : undefined];
        return a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(1)}x` : '?';
      }),
    ];
    const p = (q: number) => (r: Row) => (r.latencies.length ? percentile(r.latencies, q) : undefined);
    console.log(`\n${services} services`);
    console.log(row('', [...rs.map((r) => r.proxy), ...peers.map((q) => `${q.proxy.replace('kube-proxy ', '')} / kpr`)]));
    console.log(row('cold start to programmed, s', cells((r) => r.coldStartMs / 1000, 2)));
    console.log(row('  kube-proxy: by its last-sync metric, s', rs.map((r) => fixed(r.coldStartByMetricMs === undefined ? undefined : r.coldStartByMetricMs / 1000, 2))));
    console.log(row('CPU s to programmed (incl. children)', cells((r) => cpu(r.cpuAtProgrammed), 2)));
    console.log(row('CPU s whole run (incl. children)', cells((r) => cpu(r.cpuTotal), 2)));
    console.log(row('  of which children (iptables/nft)', rs.map((r) => fixed(r.cpuTotal.children, 2))));
    console.log(row('peak RSS (VmHWM), MB', cells((r) => r.peakRssMB, 0)));
    console.log(row('endpoint change -> programmed p50, ms', cells(p(50), 1)));
    console.log(row('endpoint change -> programmed p99, ms', cells(p(99), 1)));
    console.log(row('  changes measured', rs.map((r) => String(r.latencies.length))));
    console.log(row('  own histogram: mean ms', cells((r) => (r.programming?.count ? mean(r.programming) * 1000 : undefined), 1)));
    console.log(row('  own histogram: p99 bucket <= s', rs.map((r) => (r.programming?.count ? String(percentileBound(r.programming, 99)) : '?'))));
    console.log(row('  ruleset dump (poll resolution), ms', rs.map((r) => fixed(r.dumpMs, 1))));
  }
  for (const r of results) console.log(`${r.proxy} at ${r.services}: change latency by ${r.latencyBy}`);
}

/** The common result rows (bench_result.ts) of each proxy at each scale. */
export function peersRows(results: Row[]): BenchRow[] {
  return results.flatMap((r) => {
    const at = { scale: r.services, scaleUnit: 'services', peer: r.proxy };
    const rows: BenchRow[] = [
      { ...at, scenario: 'cold-start', metric: 'start to programmed', unit: 's', value: r.coldStartMs / 1000, better: 'lower' },
      { ...at, scenario: 'cpu-to-programmed', metric: 'CPU seconds (incl. children)', unit: 's', value: cpu(r.cpuAtProgrammed), better: 'lower' },
      { ...at, scenario: 'cpu-whole-run', metric: 'CPU seconds (incl. children)', unit: 's', value: cpu(r.cpuTotal), better: 'lower' },
      { ...at, scenario: 'peak-rss', metric: 'VmHWM', unit: 'MB', value: r.peakRssMB, better: 'lower' },
    ];
    if (r.latencies.length > 0) {
      rows.push(
        { ...at, scenario: 'change-latency', metric: 'latency p50', unit: 'ms', value: percentile(r.latencies, 50), better: 'lower' },
        { ...at, scenario: 'change-latency', metric: 'latency p99', unit: 'ms', value: percentile(r.latencies, 99), better: 'lower' },
      );
    }
    if (r.programming?.count) rows.push({ ...at, scenario: 'change-latency', metric: 'own histogram mean', unit: 'ms', value: mean(r.programming) * 1000, better: 'lower' });
    return rows;
  });
}
