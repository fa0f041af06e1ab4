// BENCHMARKS.md's text and plots from the common result rows (bench_result.ts):
// method, machine and versions, the targets' verdicts, then one table per
// scenario with kpr's advantage over each peer, and its SVG plots. Pure: the
// caller (report.ts) reads the results and writes the files.
import { BenchResult, BenchRow, Peer, PEERS } from './bench_result';
import { BREAK_EVEN, EARLIER_TARGETS, ISSUE_18_TARGETS, errorMentions, FLOW_RATE_TARGETS, judge, kprAdvantage, Target, TARGETS, Verdict } from './report_targets';
import { barChart, Chart, formatValue, lineChart, Spread } from './svg_chart';

/** What each bench measures and how; the order of BENCHMARKS.md's sections. */
interface BenchInfo {
  bench: string;
  title: string;
  method: string;
  /** Scenarios the section must name even when the run has no rows for them. */
  scenarios: string[];
  /** Peers every scenario of the bench is meant to have. */
  peers: Peer[];
}

export const BENCHES: BenchInfo[] = [
  {
    bench: 'datapath',
    title: 'Datapath: ClusterIP and NodePort traffic',
    method:
      'tests/bench/datapath.ts: clients in a network namespace of their own connect through a ClusterIP (kpr: socket LB; kube-proxy: its iptables or nftables rules in the node namespace) ' +
      'or through a NodePort from an external namespace (kpr: XDP), and straight to the backend address (direct, the floor), in the same run.',
    scenarios: ['clusterip-tcp-connect', 'clusterip-tcp-rr-short', 'clusterip-tcp-rr-keepalive', 'clusterip-udp-rr', 'nodeport-tcp-connect', 'nodeport-pps'],
    peers: ['kpr', 'kube-proxy iptables', 'kube-proxy iptables-legacy', 'kube-proxy nftables', 'direct'],
  },
  {
    bench: 'flow-rate',
    title: 'New flows per second through a snat NodePort, one backend on another node',
    method:
      'tests/bench/flow_rate.ts with tests/bench/flowrate.c: a TCP and a UDP NodePort (externalTrafficPolicy Cluster) whose one endpoint runs on another Node, so that kpr forwards in snat mode ' +
      'and kube-proxy (iptables, nftables) masquerades; each peer alone on the machine, in turn. An external client opens new flows at a set rate, paced, many in flight, from 64 source addresses ' +
      '(TCP: connect, request, echo, then a graceful close that counts once the server\'s FIN is back; UDP: a socket, a datagram and its echo per flow); a flow not done within 2 s fails. ' +
      'Sustained: 1000 flows/s for the run\'s duration (60 s, 600 s with FULL=1), TCP then UDP. Ramp: 1000, 1500, 2000, 3000, 4000, 6000, 8000, ... flows/s for 20 s each until 0.1% of a step fails or the ' +
      'generator cannot open the flows on time (2 CPUs); the break-even is the highest rate below 0.1%. NAT entries and drops: kpr\'s kpr_bpf_map_entries{map="kpr_edge_snat"} and ' +
      'kpr_drops_total{reason=~"snat_.*"}; kube-proxy\'s conntrack entries and insert_failed + drop + early_drop in its node namespace. Per-second counts are kept in the results file.',
    scenarios: ['tcp-sustained', 'udp-sustained', 'tcp-ramp', 'udp-ramp', BREAK_EVEN],
    peers: ['kpr', 'kube-proxy iptables', 'kube-proxy nftables'],
  },
  {
    bench: 'edge-pps',
    title: 'NodePort packets per second from a generator in the kernel',
    method:
      'tests/bench/edge_pps.ts with tests/bench/xdpgen.c: the external client sends 60-byte UDP frames by BPF_PROG_TEST_RUN in live-frames mode (tests/native/bench_xdp_gen.c; a kernel that refuses that mode stops the bench, as no socket sender outruns these peers), ' +
      'each from the next of 64 source addresses x 256 ports (16384 flows, each seen again and again; more per-flow state than a CPU\'s caches hold), and again x 4 ports (256 flows, every table in cache), to a UDP NodePort whose one endpoint runs on another Node: kpr in snat mode and in dsr ' +
      'mode (IP-in-IP to that node), kube-proxy iptables (on the host\'s nft backend, and on the legacy one) and nftables (DNAT and masquerade through the stack). Two floors without any load balancer aim at the endpoint itself: the node\'s ' +
      'IP forwarding (direct) and an XDP program that only redirects to the backend\'s device (xdp redirect). Two more floors show where kpr\'s time goes: kpr work floor and kpr dsr work floor ' +
      '(tests/native/bench_xdp_work.c) run kpr\'s own functions on the packet in each mode (parse, rewrite, tunnel in dsr, the kept next hop) on the running agent\'s maps, in place of its program, ' +
      'but look up neither a frontend nor a flow: every packet goes to the agent\'s first backend. kpr above its work floor pays for its lookups and per-flow state; a target its work floor misses is out of ' +
      'reach of kpr\'s design. An XDP program on the backend\'s device counts what arrives and drops it. ' +
      'The generator is pinned to one CPU and a veth hands frames on in the sender\'s softirq, so generator, node and counter share that one CPU and only the node\'s path differs between ' +
      'peers; nothing is lost on the way, the rate is what the path costs. The non-XDP peers\' external device carries a program that passes every frame (a veth takes redirected frames ' +
      'only into a device with one). Peers in turn, each at 256 flows and then at 16384, each time a 1 s warm-up that fills its tables, then 5 rounds of 5 s: the median, with the range of the rounds.',
    scenarios: ['nodeport-udp-pps'],
    peers: ['kpr', 'kpr dsr', 'kube-proxy iptables', 'kube-proxy iptables-legacy', 'kube-proxy nftables', 'direct', 'xdp redirect', 'kpr work floor', 'kpr dsr work floor'],
  },
  {
    bench: 'pod-rates',
    title: 'Pods as clients, on make cluster',
    method:
      'tests/cluster/pod_rates.ts (make bench-pods): on the two-node cluster of make cluster, one client pod on node 2 and a ClusterIP service with an rrd backend pod on each node; ' +
      'the client is build/connrate or build/rrclient joined to the pod\'s cgroup and network namespace. kpr (its chart) and kube-proxy nftables serve the same cluster and pods one after ' +
      'the other, switched between them as make day2 does, in 3 rounds whose order alternates; in each phase every scenario runs 5 s through the ClusterIP and 5 s against the backends\' ' +
      'pod IPs (direct, no service: measured under both proxies). Medians of the rounds, with their range.',
    scenarios: ['pod-clusterip-tcp-connect', 'pod-clusterip-tcp-rr-short', 'pod-clusterip-tcp-rr-keepalive', 'pod-clusterip-udp-rr'],
    peers: ['kpr', 'kube-proxy nftables', 'direct'],
  },
  {
    bench: 'pod-paths',
    title: 'A pod to a ClusterIP: socket LB against the per-packet path (socket-LB bypass)',
    method:
      'tests/cluster/socket_bypass.ts --rates, on make cluster with kpr: requests a second, a connection each, from a python3 client in a pod on node 2 to a ClusterIP of agnhost ' +
      'netexec backends on both nodes: from a plain pod (socket LB), from a pod in a namespace with the socket LB disabled (per-packet path), and to the backends\' pod IPs directly. ' +
      'The python client bounds every figure; pod-rates measures with the C clients.',
    scenarios: ['pod-to-service'],
    peers: ['kpr', 'direct'],
  },
  {
    bench: 'steady',
    title: 'Steady state at 10k services',
    method:
      'tests/bench/steady.ts: a real kube-apiserver and etcd filled with 10k ClusterIP services of 10 endpoints; kpr, then kube-proxy nftables, started cold against it with the settings ' +
      'operators run (both proxies\' defaults: minSyncPeriod 1s, a full sync every 30 s); once each has programmed everything, 10 minutes of 5 single-endpoint changes per second through ' +
      'the API server, paced, while its VmRSS and CPU seconds (with children: kube-proxy\'s nft) are sampled every 10 s. The samples are kept in the results file.',
    scenarios: ['steady-rss', 'steady-cpu'],
    peers: ['kpr', 'kube-proxy nftables'],
  },
  {
    bench: 'control-plane-peers',
    title: 'Control plane: kpr beside kube-proxy',
    method:
      'tests/bench/peers.ts: a real kube-apiserver and etcd filled with ClusterIP services of 10 endpoints; kpr and kube-proxy (iptables and nftables mode, each in a node network namespace of its own) ' +
      'started cold in turn against it. kube-proxy iptables runs the host\'s iptables (Debian 12: iptables-nft 1.8.9, which is also what kube-proxy\'s image would pick here: its wrapper takes nft ' +
      'unless kubelet\'s chains are in legacy); kube-proxy iptables-legacy the same binary with the legacy backend first on its PATH. Cold start: start to everything programmed (kpr: its maps checked; kube-proxy: the first ruleset dump naming every ClusterIP and endpoint). ' +
      'Change latency: single EndpointSlice writes, from before the write to programmed (kube-proxy: the first dump holding it, an upper bound by about one dump), and each proxy\'s own ' +
      'kubeproxy_network_programming_duration_seconds mean. CPU: /proc/PID/stat with children (iptables-restore, nft). Peak RSS: VmHWM. A proxy that cannot program a scale within 300 s ' +
      'is an error line and is not run at larger scales.',
    scenarios: ['cold-start', 'change-latency', 'cpu-to-programmed', 'cpu-whole-run', 'peak-rss'],
    peers: ['kpr', 'kube-proxy iptables', 'kube-proxy iptables-legacy', 'kube-proxy nftables'],
  },
  {
    bench: 'socklb',
    title: 'Socket LB connect rate, one service',
    method:
      'tests/bench/socklb.ts: connect()+close() per second (build/connrate) against one backend, in alternating 1 s rounds, median of 15 with their range: through a kpr ClusterIP, directly ' +
      'from inside the kpr cgroup (its programs run and find no service), directly from a sibling test cgroup made the same way with nothing attached (no kpr: the two differ by kpr\'s ' +
      'programs alone), and directly from outside any test cgroup (how this bench measured before). With kernel.bpf_stats_enabled, the connect4 hook\'s own run time per call.',
    scenarios: ['socklb-connect', 'socklb-connect4-hook'],
    // The connect rates name direct too; the hook's time is kpr's alone.
    peers: ['kpr'],
  },
  {
    bench: 'growth',
    title: 'How cost grows with services, standalone (no API server)',
    method:
      'tests/bench/growth.ts: the agent started cold on a directory of manifest files, one IPv6 ClusterIP service of 10 endpoints each, at 1000 services (make bench FULL=1: 1000, 10000 and ' +
      '100000): start to ready, CPU to ready, peak RSS; then 100 endpoint changes, each rewriting one file (temporary file, then rename), timed to the agent\'s first "sync: ... N writes" log line after it ' +
      '(printed once its map writes are done; the first 10 changes confirmed in the maps, as in the control-plane benchmark): change to maps p50 and p99, CPU over the changes, RSS after them. A second cold start with a CPU profile (V8, 200 us sampling) charges its start-up CPU to the kpr source file nearest ' +
      'the top of each sample\'s stack, so that a native call, a parse or a collection counts for the step that asked for it: the steps\' growth from scale to scale is in the notes. ' +
      'kube-proxy has no manifest source, so kpr runs alone.',
    scenarios: ['growth-cold-start', 'growth-change-latency', 'growth-cpu', 'growth-rss', 'growth-steps'],
    peers: ['kpr'],
  },
  {
    bench: 'xdp-cost',
    title: 'XDP cost per packet',
    method:
      'tests/bench/xdp_cost.ts: BPF_PROG_TEST_RUN, 1e6 repetitions, median of 5, with 1, 1k and 100k frontends programmed. The balanced packet takes the established-flow path to a local backend; ' +
      'beside it, kpr\'s own cost for a packet that is no frontend (passed untouched). A port rewrite apart: two frontends that are each other\'s backend (80 to 8080 and back), ' +
      'TCP (checksum patched) beside SCTP (CRC32c updated from the length, 1012-byte packet). There is no kube-proxy peer: it has no XDP program.',
    scenarios: ['xdp-per-packet', 'xdp-port-rewrite'],
    peers: ['kpr'],
  },
  {
    bench: 'maglev',
    title: 'Maglev table build',
    method: 'tests/bench/maglev.ts: computeMaglev() through the addon as the agent calls it, median of 21 builds after 3 warm-ups, for table sizes M and pools of N backends. kube-proxy has no Maglev.',
    scenarios: ['maglev-build'],
    peers: ['kpr'],
  },
];

export interface RenderedChart {
  /** Path from the repo root, e.g. benchmarks/datapath-nodeport-pps-packets-s-bars.svg. */
  file: string;
  svg: string;
}

export interface Report {
  markdown: string;
  charts: RenderedChart[];
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
const unique = <T>(xs: T[]) => [...new Set(xs)];
const cellText = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const tableRow = (cells: string[]) => `| ${cells.map(cellText).join(' | ')} |`;
const byScale = (a: number | undefined, b: number | undefined) => (a ?? 0) - (b ?? 0);
const scaleLabel = (scale: number | undefined, unit: string | undefined) => (scale === undefined ? 'one run' : `${scale} ${unit ?? ''}`.trimEnd());

function infoFor(bench: string): BenchInfo {
  return BENCHES.find((b) => b.bench === bench) ?? { bench, title: bench, method: '(no method text for this bench in report_render.ts)', scenarios: [], peers: [] };
}

/** Peers to show for a scenario: the bench's own, then any other the rows name. */
function peersOf(info: BenchInfo, rows: BenchRow[]): Peer[] {
  const named = new Set<Peer>([...info.peers, ...rows.map((r) => r.peer)]);
  return PEERS.filter((p) => named.has(p));
}

interface MetricGroup {
  metric: string;
  unit: string;
  better: 'higher' | 'lower';
  scales: (number | undefined)[];
  scaleUnit?: string;
  value(peer: Peer, scale: number | undefined): number | undefined;
  /** Lowest and highest round, where the row kept its rounds. */
  spread(peer: Peer, scale: number | undefined): Spread | undefined;
}

function metricGroups(rows: BenchRow[]): MetricGroup[] {
  return unique(rows.map((r) => r.metric)).map((metric) => {
    const mine = rows.filter((r) => r.metric === metric);
    const scales = unique(mine.map((r) => r.scale)).sort(byScale);
    return {
      metric,
      unit: mine[0].unit,
      better: mine[0].better,
      scales,
      scaleUnit: mine.find((r) => r.scaleUnit)?.scaleUnit,
      value: (peer, scale) => mine.find((r) => r.peer === peer && r.scale === scale)?.value,
      spread: (peer, scale) => {
        const rounds = mine.find((r) => r.peer === peer && r.scale === scale)?.rounds;
        return rounds?.length ? [Math.min(...rounds), Math.max(...rounds)] : undefined;
      },
    };
  });
}

/** The scenario's table: a line per metric and scale, a column per peer (a median of rounds with their range),
 *  then kpr's advantage over each other peer. */
export function scenarioTable(rows: BenchRow[], peers: Peer[]): string[] {
  const others = peers.filter((p) => p !== 'kpr');
  const showRatios = peers.includes('kpr') ? others : [];
  const lines = [tableRow(['metric', 'scale', ...peers, ...showRatios.map((p) => `kpr vs ${p}`)]), tableRow(['---', '---', ...peers.map(() => '---:'), ...showRatios.map(() => '---:')])];
  for (const g of metricGroups(rows)) {
    for (const scale of g.scales) {
      const kpr = g.value('kpr', scale);
      const values = peers.map((p) => g.value(p, scale));
      const cell = (p: Peer, v: number | undefined) => {
        if (v === undefined) return 'not measured';
        const spread = g.spread(p, scale);
        return spread ? `${formatValue(v)} (${formatValue(spread[0])}-${formatValue(spread[1])})` : formatValue(v);
      };
      const ratios = showRatios.map((p) => {
        const other = g.value(p, scale);
        return kpr === undefined || other === undefined || kpr === 0 || other === 0 ? '—' : `${formatValue(kprAdvantage(kpr, other, g.better))}x`;
      });
      lines.push(tableRow([`${g.metric} (${g.unit}, ${g.better} is better)`, scaleLabel(scale, g.scaleUnit), ...values.map((v, k) => cell(peers[k], v)), ...ratios]));
    }
  }
  return lines;
}

/** What the scenario lacks: each expected peer at each scale without a figure, with the bench's error lines about it. */
export function missingPeers(rows: BenchRow[], peers: Peer[], errors: string[]): string[] {
  const scales = unique(rows.map((r) => r.scale));
  const notes: string[] = [];
  for (const peer of peers) {
    for (const scale of scales) {
      if (rows.some((r) => r.peer === peer && r.scale === scale)) continue;
      const about = errors.filter((e) => errorMentions(e, peer, scale));
      notes.push(`${peer} at ${scaleLabel(scale, rows[0]?.scaleUnit)}: not measured${about.length ? ` (${about.join('; ')})` : ''}`);
    }
  }
  return notes;
}

/** Bars, and lines when there are several scales: a plot per metric with a
 *  series per peer; where kpr runs alone, a plot per unit with a series per metric. */
function chartsFor(info: BenchInfo, scenario: string, rows: BenchRow[], peers: Peer[]): RenderedChart[] {
  const groups = metricGroups(rows);
  const plots: { name: string; chart: Chart }[] = [];
  if (peers.length === 1) {
    for (const unit of unique(groups.map((g) => g.unit))) {
      const mine = groups.filter((g) => g.unit === unit);
      const scales = unique(mine.flatMap((g) => g.scales)).sort(byScale);
      plots.push({
        name: `${scenario}-${unit}`,
        chart: {
          title: `${info.title}: ${scenario}, ${peers[0]}`,
          axis: `${unit}, ${mine[0].better} is better`,
          categories: scales.map((s) => scaleLabel(s, mine[0].scaleUnit)),
          series: mine.map((g) => ({ name: g.metric, values: scales.map((s) => g.value(peers[0], s)), spread: scales.map((s) => g.spread(peers[0], s)) })),
        },
      });
    }
  } else {
    for (const g of groups) {
      const series = peers
        .map((p) => ({ name: p, values: g.scales.map((s) => g.value(p, s)), spread: g.scales.map((s) => g.spread(p, s)) }))
        .filter((x) => x.values.some((v) => v !== undefined));
      plots.push({ name: `${scenario}-${g.metric}`, chart: { title: `${info.title}: ${scenario}, ${g.metric}`, axis: `${g.unit}, ${g.better} is better`, categories: g.scales.map((s) => scaleLabel(s, g.scaleUnit)), series } });
    }
  }
  return plots.flatMap(({ name, chart }) => {
    const base = `benchmarks/${slug(`${info.bench}-${name}`)}`;
    const charts = [{ file: `${base}-bars.svg`, svg: barChart(chart) }];
    if (chart.categories.length > 1) charts.push({ file: `${base}-lines.svg`, svg: lineChart(chart) });
    return charts;
  });
}

/** The verdict's reasons, then the first error line and how many more (Results lists them all): a target's row stays one line. */
export function verdictNotes(v: Verdict): string {
  const reasons = v.notes.slice(0, v.reasoned ?? 0);
  const errors = v.notes.slice(v.reasoned ?? 0);
  const firstError = errors.length <= 1 ? errors : [`${errors[0]} (and ${errors.length - 1} more, under Results)`];
  return [...reasons, ...firstError].join('; ');
}

function verdictLines(title: string, targets: Target[], results: BenchResult[]): string[] {
  const verdicts: Verdict[] = targets.map((t) => judge(results, t));
  const mark = (v: Verdict) => (v.status === 'met' ? 'met' : v.status === 'missed' ? '**MISSED**' : 'not measured');
  return [
    `### ${title}`,
    '',
    tableRow(['target', 'verdict', 'measured', 'notes: why out of reach, and the errors of the run about it']),
    tableRow(['---', '---', '---', '---']),
    ...verdicts.map((v) => tableRow([v.target.text, mark(v), v.measured, verdictNotes(v)])),
    '',
  ];
}

/** Each peer's highest rate of new flows with < 0.1% failed, beside kube-proxy's. */
function breakEvenLines(results: BenchResult[]): string[] {
  const rows = results.filter((r) => r.bench === 'flow-rate').flatMap((r) => r.rows.filter((row) => row.scenario === BREAK_EVEN));
  if (rows.length === 0) return [];
  return ['Break-even rates (flow-rate ramp):', '', ...scenarioTable(rows, peersOf(infoFor('flow-rate'), rows)), ''];
}

function machineLines(results: BenchResult[]): string[] {
  const lines = [tableRow(['bench', 'started', 'machine', 'versions', 'options']), tableRow(['---', '---', '---', '---', '---'])];
  for (const r of results) {
    const versions = Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(tableRow([r.bench, r.startedAt, r.machine, versions, `\`${JSON.stringify(r.options)}\``]));
  }
  return lines;
}

function benchSection(info: BenchInfo, result: BenchResult | undefined, charts: RenderedChart[]): string[] {
  const lines = [`### ${info.title}`, ''];
  if (!result) {
    lines.push(`Not measured in this run (no benchmarks/results/${info.bench}.json).`, '');
    if (info.scenarios.length) lines.push(`Scenarios: ${info.scenarios.join(', ')}.`, '');
    return lines;
  }
  const scenarios = unique([...info.scenarios, ...result.rows.map((r) => r.scenario)]);
  for (const scenario of scenarios) {
    const rows = result.rows.filter((r) => r.scenario === scenario);
    lines.push(`#### ${scenario}`, '');
    if (rows.length === 0) {
      lines.push('Not measured in this run.', '');
      continue;
    }
    const peers = peersOf(info, rows);
    lines.push(...scenarioTable(rows, peers), '');
    const missing = missingPeers(rows, peers, result.errors);
    if (missing.length) lines.push(...missing.map((m) => `- ${m}`), '');
    const mine = chartsFor(info, scenario, rows, peers);
    charts.push(...mine);
    lines.push(mine.map((c) => `![${scenario}](${c.file})`).join(' '), '');
  }
  if (result.notes?.length) lines.push('Notes of this run:', '', ...result.notes.map((n) => `- ${n}`), '');
  if (result.errors.length) lines.push('Errors of this run:', '', ...result.errors.map((e) => `- ${e}`), '');
  return lines;
}

export function renderReport(results: BenchResult[]): Report {
  const charts: RenderedChart[] = [];
  const known = BENCHES.map((b) => b.bench);
  const infos = [...BENCHES, ...unique(results.map((r) => r.bench)).filter((b) => !known.includes(b)).map(infoFor)];
  const lines = [
    '# kpr benchmarks',
    '',
    'Generated by `make bench` (tests/bench/report.ts) from the results in benchmarks/results/*.json, which are kept beside it; ' +
      '`make bench-report` regenerates this file and the plots from those results alone. Do not edit by hand.',
    '',
    'Every ratio is kpr\'s advantage over the peer: peer / kpr where lower is better, kpr / peer where higher is better. Above 1, kpr does better. ' +
      'Plots switch to a log scale when figures differ by more than 30x.',
    '',
    '## Method',
    '',
    ...infos.flatMap((i) => [`- **${i.title}** (\`${i.bench}\`). ${i.method}`]),
    '',
    '## Machine and versions',
    '',
    ...(results.length ? machineLines(results) : ['No results in benchmarks/results/.']),
    '',
    '## Targets',
    '',
    ...verdictLines('Issue 6: kpr against kube-proxy and direct', TARGETS, results),
    ...verdictLines('Issue 12: new flows per second through a snat NodePort', FLOW_RATE_TARGETS, results),
    ...verdictLines('Issue 18: NodePort packets per second with the load balancer the bottleneck, and cost at 100k services', ISSUE_18_TARGETS, results),
    ...breakEvenLines(results),
    ...verdictLines('Earlier targets of the benches', EARLIER_TARGETS, results),
    '## Results',
    '',
  ];
  for (const info of infos) {
    // Files of one bench (e.g. a run at another scale) make one section.
    const mine = results.filter((r) => r.bench === info.bench);
    const merged = mine.length === 0 ? undefined : { ...mine[0], rows: mine.flatMap((r) => r.rows), errors: mine.flatMap((r) => r.errors), notes: mine.flatMap((r) => r.notes ?? []) };
    lines.push(...benchSection(info, merged, charts));
  }
  return { markdown: `${lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd()}\n`, charts };
}
