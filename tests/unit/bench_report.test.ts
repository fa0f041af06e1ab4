// The benchmark report (tests/bench/report_*.ts, svg_chart.ts): from given
// result rows, kpr's ratios, the targets' verdicts, the SVG plots, and what
// it says when a peer or a whole bench is missing.
import { BenchResult, BenchRow, Peer } from '../bench/bench_result';
import { renderReport, scenarioTable, missingPeers, verdictNotes } from '../bench/report_render';
import { BREAK_EVEN, BREAK_EVEN_METRIC, errorMentions, ISSUE_18_TARGETS, FLOW_RATE_TARGETS, judge, kprAdvantage, Target, TARGETS } from '../bench/report_targets';
import { barChart, lineChart, valueAxis } from '../bench/svg_chart';

function result(bench: string, rows: BenchRow[], errors: string[] = []): BenchResult {
  return { bench, startedAt: '2026-11-25T17:00:00.000Z', machine: '2 CPUs (test)', versions: { kernel: '6.18', node: 'v20' }, options: {}, rows, errors };
}

const row = (scenario: string, peer: Peer, metric: string, unit: string, value: number, better: 'higher' | 'lower', scale?: number): BenchRow => ({
  scenario,
  peer,
  metric,
  unit,
  value,
  better,
  ...(scale === undefined ? {} : { scale, scaleUnit: 'services' }),
});

const p99 = (peer: Peer, ms: number, scale = 10_000) => row('change-latency', peer, 'latency p99', 'ms', ms, 'lower', scale);
const connect = (peer: Peer, rate: number, scale: number) => row('clusterip-tcp-connect', peer, 'connections/s', 'conn/s', rate, 'higher', scale);
const targetNamed = (text: string): Target => {
  const t = TARGETS.find((x) => x.text.startsWith(text));
  if (!t) throw new Error(`no target ${text}`);
  return t;
};

/** Heights of the bars of an SVG, in drawing order. */
const barHeights = (svg: string) => [...svg.matchAll(/<rect class="bar" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"/g)].map((m) => Number(m[1]));

describe('kpr advantage', () => {
  test('is peer / kpr where lower is better and kpr / peer where higher is better', () => {
    expect(kprAdvantage(10, 150, 'lower')).toBe(15);
    expect(kprAdvantage(9700, 10000, 'higher')).toBeCloseTo(0.97);
  });

  test('the scenario table gives each peer its figure and kpr its ratio against each', () => {
    const rows = [p99('kpr', 50), p99('kube-proxy iptables', 5000), p99('kube-proxy nftables', 1000)];
    const lines = scenarioTable(rows, ['kpr', 'kube-proxy iptables', 'kube-proxy nftables']);
    expect(lines[0]).toBe('| metric | scale | kpr | kube-proxy iptables | kube-proxy nftables | kpr vs kube-proxy iptables | kpr vs kube-proxy nftables |');
    expect(lines[2]).toBe('| latency p99 (ms, lower is better) | 10000 services | 50 | 5000 | 1000 | 100x | 20x |');
  });

  test('a peer without a figure is "not measured" in the table and named with its error line', () => {
    const rows = [connect('kpr', 40000, 100), connect('direct', 41000, 100)];
    const peers: Peer[] = ['kpr', 'kube-proxy iptables', 'direct'];
    const lines = scenarioTable(rows, peers);
    expect(lines[2]).toBe('| connections/s (conn/s, higher is better) | 100 services | 40000 | not measured | 41000 | — | 0.976x |');
    expect(missingPeers(rows, peers, ['iptables at 100 services: rules not programmed', 'nftables at 100 services: other'])).toEqual([
      'kube-proxy iptables at 100 services: not measured (iptables at 100 services: rules not programmed)',
    ]);
  });
});

describe('target verdicts', () => {
  const p99Target = targetNamed('endpoint change to programmed p99');

  test('met when kpr reaches the ratio, with the measured figures and the errors that qualify them', () => {
    const timedOut = 'kube-proxy nftables at 10000 services: change 16 (service 555 -> 198.18.250.66): not in the ruleset after 20000 ms';
    const other = 'kube-proxy nftables at 100000 services: change 3: not in the ruleset after 20000 ms';
    const v = judge([result('control-plane-peers', [p99('kpr', 50), p99('kube-proxy nftables', 2000)], [timedOut, other])], p99Target);
    expect(v.status).toBe('met');
    expect(v.measured).toBe('40x at 10000 services (kpr 50 ms, kube-proxy nftables 2000 ms)');
    expect(v.notes).toEqual([timedOut]);
  });

  test('missed when it falls short', () => {
    const v = judge([result('control-plane-peers', [p99('kpr', 100), p99('kube-proxy nftables', 1500)])], p99Target);
    expect(v.status).toBe('missed');
    expect(v.measured).toContain('15x');
  });

  test('"below kube-proxy" is missed at equal figures', () => {
    const rss = (peer: Peer, mb: number) => row('peak-rss', peer, 'VmHWM', 'MB', mb, 'lower', 10_000);
    const t = targetNamed('peak RSS below kube-proxy nftables');
    expect(judge([result('control-plane-peers', [rss('kpr', 190), rss('kube-proxy nftables', 190)])], t).status).toBe('missed');
    expect(judge([result('control-plane-peers', [rss('kpr', 189), rss('kube-proxy nftables', 190)])], t).status).toBe('met');
  });

  test('not measured when the peer has no figure at the scale: says why and what other scales gave', () => {
    const rows = [p99('kpr', 10, 1000), p99('kube-proxy nftables', 1000, 1000), p99('kpr', 60)];
    const v = judge([result('control-plane-peers', rows, ['nftables at 10000 services: kube-proxy nftables: 0/10000 services after 300000 ms'])], p99Target);
    expect(v.status).toBe('not measured');
    expect(v.measured).toBe('kube-proxy nftables at 10000 services not measured; measured elsewhere: 100x at 1000 services');
    expect(v.notes).toEqual(['nftables at 10000 services: kube-proxy nftables: 0/10000 services after 300000 ms']);
  });

  test('a missed ratio that even direct (no LB) does not reach against the peer says so; one direct reaches does not', () => {
    const pps = (peer: Peer, v: number) => row('nodeport-pps', peer, 'packets/s', 'pps', v, 'higher', 100);
    const t = targetNamed('NodePort packets/s');
    const bound = judge([result('datapath', [pps('kpr', 140), pps('kube-proxy iptables', 130), pps('direct', 160)])], t);
    expect(bound.status).toBe('missed');
    expect(bound.notes[0]).toMatch(/^out of reach here: direct, with no LB at all, is 1\.23x kube-proxy iptables in this run/);
    const reachable = judge([result('datapath', [pps('kpr', 140), pps('kube-proxy iptables', 100), pps('direct', 900)])], t);
    expect(reachable.status).toBe('missed');
    expect(reachable.notes).toEqual([]);
  });

  test('edge packet rate: each kpr mode judged on its own figure; out of reach only when the XDP redirect floor is', () => {
    const pps = (peer: Peer, v: number) => row('nodeport-udp-pps', peer, 'packets/s at the backend', 'pps', v, 'higher', 16384);
    const named = (text: string) => ISSUE_18_TARGETS.find((t) => t.text === text) as Target;
    const rows = [pps('kpr', 1100), pps('kpr dsr', 2400), pps('kube-proxy iptables', 400), pps('direct', 1100), pps('xdp redirect', 2800)];
    const snat = judge([result('edge-pps', rows)], named('kpr snat NodePort packets/s >= 5x kube-proxy iptables'));
    expect(snat).toMatchObject({ status: 'missed', measured: '2.75x at 16384 services (kpr 1100 pps, kube-proxy iptables 400 pps)' });
    // The stack's forwarding (direct) is below 5x iptables, the XDP floor is not: reachable.
    expect(snat.notes).toEqual([]);
    const dsr = judge([result('edge-pps', rows)], named('kpr dsr NodePort packets/s >= 5x kube-proxy iptables'));
    expect(dsr).toMatchObject({ status: 'met', measured: '6x at 16384 services (kpr dsr 2400 pps, kube-proxy iptables 400 pps)' });
    expect(judge([result('edge-pps', rows)], named('kpr dsr NodePort packets/s >= 0.8x the XDP redirect-only floor')).status).toBe('met');
    const slowFloor = rows.map((r) => (r.peer === 'xdp redirect' ? { ...r, value: 1800 } : r));
    expect(judge([result('edge-pps', slowFloor)], named('kpr snat NodePort packets/s >= 5x kube-proxy iptables')).notes[0]).toMatch(
      /^out of reach here: xdp redirect, with no LB at all, is 4\.5x kube-proxy iptables/,
    );
  });

  test('edge packet rate: a missed target says whether kpr\'s own work on the packet, with no lookup, reaches it', () => {
    const pps = (peer: Peer, v: number) => row('nodeport-udp-pps', peer, 'packets/s at the backend', 'pps', v, 'higher', 16384);
    const named = (text: string) => ISSUE_18_TARGETS.find((t) => t.text === text) as Target;
    const rows = [pps('kpr', 2400), pps('kpr dsr', 3300), pps('kube-proxy iptables', 700), pps('xdp redirect', 5400), pps('kpr work floor', 4900), pps('kpr dsr work floor', 4200)];
    const snatFloor = judge([result('edge-pps', rows)], named('kpr snat NodePort packets/s >= 0.8x the XDP redirect-only floor'));
    expect(snatFloor.status).toBe('missed');
    expect(snatFloor.notes[0]).toMatch(/^kpr work floor, kpr's own work on the packet .* is 0\.907x xdp redirect in this run: the rest of the gap is what the lookups/);
    const dsrFloor = judge([result('edge-pps', rows)], named('kpr dsr NodePort packets/s >= 0.8x the XDP redirect-only floor'));
    expect(dsrFloor.notes[0]).toMatch(/^out of reach of kpr's design here: kpr dsr work floor, kpr's own work on the packet .* is 0\.778x xdp redirect in this run$/);
    // Each mode against its own floor: the dsr one names the dsr floor's ratio to iptables.
    const dsrIptables = judge([result('edge-pps', rows)], named('kpr dsr NodePort packets/s >= 5x kube-proxy iptables'));
    expect(dsrIptables.notes[0]).toMatch(/^kpr dsr work floor, .* is 6x kube-proxy iptables in this run: the rest/);
    // At the other scales, beside kpr's ratio, its work floor's.
    const at256 = rows.map((r) => ({ ...r, scale: 256, value: r.value * (r.peer === 'kube-proxy iptables' ? 1.3 : 1.1) }));
    expect(judge([result('edge-pps', [...at256, ...rows])], named('kpr dsr NodePort packets/s >= 5x kube-proxy iptables')).notes[1]).toBe(
      'in the same run: 3.99x at 256 services (kpr dsr work floor 5.08x)',
    );
    // A target's row gives every reason, and of the run's errors the first.
    const withErrors = judge([result('edge-pps', [...at256, ...rows], ['kpr dsr at 16384 flows: one', 'kpr dsr at 16384 flows: two'])], named('kpr dsr NodePort packets/s >= 5x kube-proxy iptables'));
    expect(verdictNotes(withErrors)).toMatch(/: the rest of the gap is what the lookups and per-flow state cost; in the same run: 3\.99x at 256 services \(kpr dsr work floor 5\.08x\); kpr dsr at 16384 flows: one \(and 1 more, under Results\)$/);
    // No work floor in the run: nothing said about it.
    const without = rows.filter((r) => !r.peer.endsWith('work floor'));
    expect(judge([result('edge-pps', without)], named('kpr snat NodePort packets/s >= 0.8x the XDP redirect-only floor')).notes).toEqual([]);
  });

  test('a missed ratio judged at the largest scale names what the same run measured at the others', () => {
    const pps = (peer: Peer, v: number, scale: number) => row('nodeport-udp-pps', peer, 'packets/s at the backend', 'pps', v, 'higher', scale);
    const t = ISSUE_18_TARGETS.find((x) => x.text === 'kpr dsr NodePort packets/s >= 0.8x the XDP redirect-only floor') as Target;
    const rows = [pps('kpr dsr', 3000, 256), pps('xdp redirect', 5000, 256), pps('kpr dsr', 2500, 16384), pps('xdp redirect', 5000, 16384)];
    const v = judge([result('edge-pps', rows)], t);
    expect(v).toMatchObject({ status: 'missed', measured: '0.5x at 16384 services (kpr dsr 2500 pps, xdp redirect 5000 pps)' });
    expect(v.notes).toEqual(['in the same run: 0.6x at 256 services']);
    // Met at the judged scale: nothing more to say.
    expect(judge([result('edge-pps', rows.map((r) => (r.peer === 'kpr dsr' ? { ...r, value: 4500 } : r)))], t).notes).toEqual([]);
    // A target of one scale is about that scale alone.
    expect(judge([result('edge-pps', rows)], { ...t, scale: 16384 }).notes).toEqual([]);
  });

  test('an error line is about a peer when it names its mode as a whole word, at the scale', () => {
    const legacy = 'iptables-legacy at 10000 services: kube-proxy iptables-legacy: 0/10000 services';
    expect(errorMentions(legacy, 'kube-proxy iptables-legacy', 10_000)).toBe(true);
    expect(errorMentions(legacy, 'kube-proxy iptables', 10_000)).toBe(false);
    expect(errorMentions('iptables at 5000 services: kube-proxy iptables: 0/5000', 'kube-proxy iptables', 5000)).toBe(true);
    expect(errorMentions('iptables at 5000 services: kube-proxy iptables: 0/5000', 'kube-proxy iptables', 500)).toBe(false);
  });

  test('not measured when the bench did not run', () => {
    const v = judge([], targetNamed('NodePort packets/s'));
    expect(v).toMatchObject({ status: 'not measured', measured: 'no datapath results in this run' });
  });

  test('a target without a scale takes the largest scale where both were measured', () => {
    const pps = (peer: Peer, v: number, scale: number) => row('nodeport-pps', peer, 'packets/s', 'pps', v, 'higher', scale);
    const rows = [pps('kpr', 900, 100), pps('kube-proxy iptables', 100, 100), pps('kpr', 800, 10_000), pps('kube-proxy iptables', 200, 10_000)];
    const v = judge([result('datapath', rows)], targetNamed('NodePort packets/s'));
    expect(v.status).toBe('missed');
    expect(v.measured).toMatch(/^4x at 10000 services/);
  });
});

describe('report', () => {
  test('without datapath results, says so for the bench and marks its targets not measured', () => {
    const md = renderReport([result('control-plane-peers', [p99('kpr', 50), p99('kube-proxy nftables', 2000)])]).markdown;
    expect(md).toContain('Not measured in this run (no benchmarks/results/datapath.json).');
    expect(md).toContain('| ClusterIP new-connection rate >= 0.97x direct, 100 services | not measured | no datapath results in this run |  |');
    expect(md).toContain('| endpoint change to programmed p99 >= 20x faster than kube-proxy nftables, 10k services | met | 40x at 10000 services');
  });

  test('a datapath run missing a scenario and a peer is rendered, not crashed, and plots the peers it has', () => {
    const rows = [connect('kpr', 40000, 100), connect('direct', 41000, 100), connect('kube-proxy nftables', 20000, 100)];
    const report = renderReport([result('datapath', rows, ['iptables at 100 services: kube-proxy iptables did not start'])]);
    expect(report.markdown).toContain('#### nodeport-pps\n\nNot measured in this run.');
    expect(report.markdown).toContain('- kube-proxy iptables at 100 services: not measured (iptables at 100 services: kube-proxy iptables did not start)');
    expect(report.markdown).toContain('| ClusterIP new-connection rate >= 1.0x kube-proxy iptables, 100 services | not measured | kube-proxy iptables at 100 services not measured |');
    const bars = report.charts.find((c) => c.file === 'benchmarks/datapath-clusterip-tcp-connect-connections-s-bars.svg');
    expect(bars).toBeDefined();
    expect(report.markdown).toContain('![clusterip-tcp-connect](benchmarks/datapath-clusterip-tcp-connect-connections-s-bars.svg)');
    expect(bars?.svg).toContain('kube-proxy nftables');
    expect(bars?.svg).not.toContain('kube-proxy iptables');
  });

  test('a metric across several scales, from one file or several, gets a line plot beside its bars', () => {
    const files = renderReport([result('control-plane-peers', [p99('kpr', 10, 1000)]), result('control-plane-peers', [p99('kpr', 50, 10_000)])]).charts.map((c) => c.file);
    expect(files).toEqual(['benchmarks/control-plane-peers-change-latency-latency-p99-bars.svg', 'benchmarks/control-plane-peers-change-latency-latency-p99-lines.svg']);
  });
});

describe('flow-rate section', () => {
  const flowRow = (scenario: string, peer: Peer, metric: string, unit: string, value: number, better: 'higher' | 'lower', scale?: number): BenchRow => ({
    ...row(scenario, peer, metric, unit, value, better),
    ...(scale === undefined ? {} : { scale, scaleUnit: 'flows/s offered' }),
  });
  const unanswered = (proto: 'tcp' | 'udp', peer: Peer, n: number, rate = 1000) => flowRow(`${proto}-sustained`, peer, 'unanswered flows', 'flows in 600 s', n, 'lower', rate);
  const breakEven = (proto: 'TCP' | 'UDP', peer: Peer, rate: number) => flowRow(BREAK_EVEN, peer, `${proto} ${BREAK_EVEN_METRIC}`, 'flows/s', rate, 'higher');
  const [tcpTarget, udpTarget] = FLOW_RATE_TARGETS;

  test('the targets hold kpr to no unanswered flow at 1000 flows/s, TCP and UDP each', () => {
    const rows = [unanswered('tcp', 'kpr', 0), unanswered('udp', 'kpr', 17), unanswered('udp', 'kube-proxy iptables', 0)];
    const tcp = judge([result('flow-rate', rows)], tcpTarget);
    expect(tcp).toMatchObject({ status: 'met', measured: '0 flows in 600 s at 1000 flows/s offered' });
    expect(judge([result('flow-rate', rows)], udpTarget)).toMatchObject({ status: 'missed', measured: '17 flows in 600 s at 1000 flows/s offered' });
  });

  test('a sustained run at another rate, or by kube-proxy alone, does not count for kpr', () => {
    const rows = [unanswered('tcp', 'kpr', 0, 500), unanswered('tcp', 'kube-proxy nftables', 0)];
    expect(judge([result('flow-rate', rows)], tcpTarget).status).toBe('not measured');
  });

  test('the report gives the verdicts, the break-even rates beside kube-proxy\'s, and the run\'s notes', () => {
    const rows = [
      unanswered('tcp', 'kpr', 0),
      unanswered('udp', 'kpr', 40),
      breakEven('TCP', 'kpr', 8000),
      breakEven('TCP', 'kube-proxy iptables', 4000),
      breakEven('TCP', 'kube-proxy nftables', 2000),
      breakEven('UDP', 'kpr', 1000),
      breakEven('UDP', 'kube-proxy iptables', 2000),
      breakEven('UDP', 'kube-proxy nftables', 0),
    ];
    const r = { ...result('flow-rate', rows), notes: ['kpr udp-ramp: breaks at 2000 flows/s, 3.100% of its flows failed'] };
    const md = renderReport([r]).markdown;
    expect(md).toContain('### Issue 12: new flows per second through a snat NodePort');
    expect(md).toContain('| kpr >= 1000 new flows/s to one backend for the duration with 0 failures, TCP | met | 0 flows in 600 s at 1000 flows/s offered |  |');
    expect(md).toContain('| kpr >= 1000 new flows/s to one backend for the duration with 0 failures, UDP | **MISSED** | 40 flows in 600 s at 1000 flows/s offered |  |');
    const table = md.slice(md.indexOf('Break-even rates (flow-rate ramp):'));
    expect(table).toContain('| TCP highest rate with < 0.1% failed (flows/s, higher is better) | one run | 8000 | 4000 | 2000 | 2x | 4x |');
    // A peer that never ran clean has no ratio: kpr is not infinitely better.
    expect(table).toContain('| UDP highest rate with < 0.1% failed (flows/s, higher is better) | one run | 1000 | 2000 | 0 | 0.5x | — |');
    expect(md).toContain('Notes of this run:\n\n- kpr udp-ramp: breaks at 2000 flows/s, 3.100% of its flows failed');
  });
});

describe('SVG plots', () => {
  const chart = (values: (number | undefined)[][]) => ({
    title: 'a <title> & more',
    axis: 'ms',
    categories: values[0].map((_, i) => `scale ${i}`),
    series: values.map((v, k) => ({ name: k === 0 ? 'kpr' : 'kube-proxy nftables', values: v })),
  });

  test('bars on a linear axis are proportional to the values', () => {
    const [a, b] = barHeights(barChart(chart([[10], [20]])));
    expect(b / a).toBeCloseTo(2, 2);
  });

  test('figures far apart go on a log axis, where bar heights follow the logarithm', () => {
    expect(valueAxis([1, 1000]).log).toBe(true);
    expect(valueAxis([10, 20]).log).toBe(false);
    // Axis 1..1000: 10 is a third of the way up, 1000 all of it.
    const [a, b] = barHeights(barChart(chart([[10], [1000]])));
    expect(b / a).toBeCloseTo(3, 2);
  });

  test('a value not measured draws no bar but n/m, and text is escaped', () => {
    const svg = barChart(chart([[10, 12], [undefined, 30]]));
    expect(barHeights(svg)).toHaveLength(3);
    expect(svg).toContain('>n/m</text>');
    expect(svg).toContain('a &lt;title&gt; &amp; more');
    expect(svg).not.toContain('<title> &');
  });

  test('a median of rounds carries a whisker from its lowest to its highest round, on both plots and in the table', () => {
    const c = { ...chart([[10], [20]]), series: [{ name: 'kpr', values: [10], spread: [[5, 40] as [number, number]] }, { name: 'direct', values: [20] }] };
    for (const svg of [barChart(c), lineChart(c)]) {
      expect(svg.match(/<g class="spread">/g)).toHaveLength(1);
      expect(svg).toContain('rounds from 5 to 40');
      // The axis reaches the highest round, not only the medians.
      const ys = [...svg.matchAll(/<g class="spread">.*?\n<line x1="[\d.]+" y1="([\d.]+)" x2="[\d.]+" y2="([\d.]+)"/gs)][0].slice(1).map(Number);
      expect(Math.min(...ys)).toBeGreaterThanOrEqual(56);
    }
    const rows = [{ ...row('nodeport-udp-pps', 'kpr', 'packets/s', 'pps', 10, 'higher'), rounds: [5, 10, 40] }, row('nodeport-udp-pps', 'direct', 'packets/s', 'pps', 20, 'higher')];
    expect(scenarioTable(rows, ['kpr', 'direct'])[2]).toBe('| packets/s (pps, higher is better) | one run | 10 (5-40) | 20 | 0.5x |');
  });

  test('a line plot breaks where a value is missing', () => {
    const svg = lineChart(chart([[1, 2, 3], [1, undefined, 3]]));
    expect(svg.match(/<polyline/g)).toHaveLength(1);
    expect(svg.match(/<circle/g)).toHaveLength(5);
  });
});
