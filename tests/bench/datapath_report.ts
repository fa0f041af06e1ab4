// The datapath benchmark's table: per scale and scenario, each peer's median
// of every figure, and kpr's figure over each other peer's (for rates above
// 1 means kpr does better; for latencies below 1 does).
import { BenchRow } from './bench_result';
import { describeMachine } from './machine';

const PEER_ORDER = ['kpr', 'kube-proxy iptables', 'kube-proxy iptables-legacy', 'kube-proxy nftables', 'direct'];
const SHORT: Record<string, string> = { kpr: 'kpr', 'kube-proxy iptables': 'iptables', 'kube-proxy iptables-legacy': 'ipt-legacy', 'kube-proxy nftables': 'nftables', direct: 'direct' };

const cell = (s: string, w: number) => s.padStart(w);

function format(v: number | undefined, unit: string): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  return unit === 'us' ? `${v.toFixed(1)} us` : `${Math.round(v)}`;
}

export function printDatapathReport(rows: BenchRow[], o: { rounds: number; seconds: number }): void {
  console.log(`\ndatapath through each proxy, medians of ${o.rounds} rounds of ${o.seconds} s per scenario and peer, peers rotating within each round`);
  console.log(`machine: ${describeMachine()}`);
  const peers = PEER_ORDER.filter((p) => rows.some((r) => r.peer === p));
  const others = peers.filter((p) => p !== 'kpr');
  for (const scale of [...new Set(rows.map((r) => r.scale))]) {
    console.log(`\n${scale} services`);
    const header = ['scenario'.padEnd(28), 'metric'.padEnd(14), ...peers.map((p) => cell(SHORT[p], 12)), ...others.map((p) => cell(`kpr/${SHORT[p]}`, 14))];
    console.log(`  ${header.join(' ')}`);
    const at = rows.filter((r) => r.scale === scale);
    const keys = [...new Set(at.map((r) => `${r.scenario}|${r.metric}`))];
    for (const key of keys) {
      const [scenario, metric] = key.split('|');
      const of = (peer: string) => at.find((r) => r.scenario === scenario && r.metric === metric && r.peer === peer);
      const kpr = of('kpr');
      const unit = at.find((r) => r.scenario === scenario && r.metric === metric)?.unit ?? '';
      const ratios = others.map((p) => {
        const v = of(p)?.value;
        return cell(kpr && v ? (kpr.value / v).toFixed(3) : '-', 14);
      });
      console.log(`  ${[scenario.padEnd(28), metric.padEnd(14), ...peers.map((p) => cell(format(of(p)?.value, unit), 12)), ...ratios].join(' ')}`);
    }
  }
}
