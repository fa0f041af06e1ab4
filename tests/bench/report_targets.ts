// The targets BENCHMARKS.md marks met or missed (issue 6's, then the earlier
// ones its benches already print), judged from the common result rows.
import { BenchResult, BenchRow, Peer } from './bench_result';
import { formatValue } from './svg_chart';

export interface Target {
  text: string;
  bench: string;
  scenario: string;
  /** Which of the scenario's rows, tested against "metric unit". */
  metric: RegExp;
  /** Undefined: the largest scale at which both figures were measured. */
  scale?: number;
  /** Whose figure is judged (default kpr), e.g. kpr dsr where a bench runs both modes. */
  subject?: Peer;
  /** The subject's advantage over this peer (kprAdvantage) must reach minRatio... */
  peer?: Peer;
  minRatio?: number;
  /** ...or exceed it, for "below kube-proxy". */
  strict?: boolean;
  /** What no load balancer beats in the bench (default direct): a ratio above the floor's is out of reach. */
  floor?: Peer;
  /** The subject's own work on the packet with none of its lookups (edge-pps): a ratio above it is out of
   *  reach of any design that does that work; below it, the rest is what the lookups cost. */
  workFloor?: Peer;
  /** Or kpr's own figure must be at most this. */
  maxValue?: number;
}

export interface Verdict {
  target: Target;
  status: 'met' | 'missed' | 'not measured';
  measured: string;
  /** The verdict's own reasons first (reasoned of them), then the bench's error lines about either side at
   *  that scale: why a figure is missing, or what it leaves out. */
  notes: string[];
  reasoned?: number;
}

/** How many times better kpr does than the peer: above 1, kpr does better. */
export function kprAdvantage(kpr: number, peer: number, better: 'higher' | 'lower'): number {
  return better === 'higher' ? kpr / peer : peer / kpr;
}

const CONNECT_RATE = /connections\/s|conn\/s/;
const PACKET_RATE = /packets\/s|pps/;

export const TARGETS: Target[] = [
  { text: 'ClusterIP new-connection rate >= 0.97x direct, 100 services', bench: 'datapath', scenario: 'clusterip-tcp-connect', metric: CONNECT_RATE, scale: 100, peer: 'direct', minRatio: 0.97 },
  { text: 'ClusterIP new-connection rate >= 0.97x direct, 10k services', bench: 'datapath', scenario: 'clusterip-tcp-connect', metric: CONNECT_RATE, scale: 10_000, peer: 'direct', minRatio: 0.97 },
  { text: 'ClusterIP new-connection rate >= 1.0x kube-proxy iptables, 100 services', bench: 'datapath', scenario: 'clusterip-tcp-connect', metric: CONNECT_RATE, scale: 100, peer: 'kube-proxy iptables', minRatio: 1 },
  { text: 'ClusterIP new-connection rate >= 3x kube-proxy iptables, 10k services', bench: 'datapath', scenario: 'clusterip-tcp-connect', metric: CONNECT_RATE, scale: 10_000, peer: 'kube-proxy iptables', minRatio: 3 },
  { text: 'ClusterIP new-connection rate >= 3x kube-proxy iptables-legacy, 10k services', bench: 'datapath', scenario: 'clusterip-tcp-connect', metric: CONNECT_RATE, scale: 10_000, peer: 'kube-proxy iptables-legacy', minRatio: 3 },
  { text: 'ClusterIP new-connection rate >= 1.3x kube-proxy nftables, 10k services', bench: 'datapath', scenario: 'clusterip-tcp-connect', metric: CONNECT_RATE, scale: 10_000, peer: 'kube-proxy nftables', minRatio: 1.3 },
  { text: 'NodePort packets/s through XDP >= 5x kube-proxy iptables', bench: 'datapath', scenario: 'nodeport-pps', metric: PACKET_RATE, peer: 'kube-proxy iptables', minRatio: 5 },
  { text: 'endpoint change to programmed p99 >= 20x faster than kube-proxy nftables, 10k services', bench: 'control-plane-peers', scenario: 'change-latency', metric: /latency p99/, scale: 10_000, peer: 'kube-proxy nftables', minRatio: 20 },
  ...(['kube-proxy iptables', 'kube-proxy iptables-legacy', 'kube-proxy nftables'] as const).flatMap((peer): Target[] => [
    { text: `CPU seconds to programmed below ${peer}, 10k services`, bench: 'control-plane-peers', scenario: 'cpu-to-programmed', metric: /CPU/, scale: 10_000, peer, minRatio: 1, strict: true },
    { text: `CPU seconds over the whole run below ${peer}, 10k services`, bench: 'control-plane-peers', scenario: 'cpu-whole-run', metric: /CPU/, scale: 10_000, peer, minRatio: 1, strict: true },
    { text: `peak RSS below ${peer}, 10k services`, bench: 'control-plane-peers', scenario: 'peak-rss', metric: /MB/, scale: 10_000, peer, minRatio: 1, strict: true },
  ]),
];

/** The flow-rate bench's scenario of each peer's highest clean rate, and its metric after the protocol. */
export const BREAK_EVEN = 'break-even';
export const BREAK_EVEN_METRIC = 'highest rate with < 0.1% failed';

/** Issue 12's: kpr keeps up with new flows to one backend on another node (snat). */
export const FLOW_RATE_TARGETS: Target[] = (['TCP', 'UDP'] as const).map((proto) => ({
  text: `kpr >= 1000 new flows/s to one backend for the duration with 0 failures, ${proto}`,
  bench: 'flow-rate',
  scenario: `${proto.toLowerCase()}-sustained`,
  metric: /unanswered flows/,
  scale: 1000,
  maxValue: 0,
}));

const WORK_FLOORS: Record<'kpr' | 'kpr dsr', Peer> = { kpr: 'kpr work floor', 'kpr dsr': 'kpr dsr work floor' };

/** Issue 18: the XDP path against kube-proxy's and against the cheapest XDP forwarding, each kpr mode;
 *  and what 100k services cost in standalone mode. */
export const ISSUE_18_TARGETS: Target[] = [
  ...(['kpr', 'kpr dsr'] as const).flatMap((subject): Target[] => [
    { text: `${subject === 'kpr' ? 'kpr snat' : subject} NodePort packets/s >= 5x kube-proxy iptables`, bench: 'edge-pps', scenario: 'nodeport-udp-pps', metric: PACKET_RATE, subject, peer: 'kube-proxy iptables', minRatio: 5, floor: 'xdp redirect', workFloor: WORK_FLOORS[subject] },
    { text: `${subject === 'kpr' ? 'kpr snat' : subject} NodePort packets/s >= 0.8x the XDP redirect-only floor`, bench: 'edge-pps', scenario: 'nodeport-udp-pps', metric: PACKET_RATE, subject, peer: 'xdp redirect', minRatio: 0.8, floor: 'xdp redirect', workFloor: WORK_FLOORS[subject] },
  ]),
  { text: '100k services (standalone): start to ready < 20 s', bench: 'growth', scenario: 'growth-cold-start', metric: /start to ready/, scale: 100_000, maxValue: 20 },
  { text: '100k services (standalone): change to maps p99 < 100 ms', bench: 'growth', scenario: 'growth-change-latency', metric: /p99/, scale: 100_000, maxValue: 100 },
  { text: '100k services (standalone): peak RSS < 1 GB', bench: 'growth', scenario: 'growth-rss', metric: /VmHWM/, scale: 100_000, maxValue: 1000 },
  { text: 'socket LB: a connection to no service in kpr\'s cgroup >= 0.99x no kpr (overhead <= 1%)', bench: 'socklb', scenario: 'socklb-connect', metric: /not a service/, peer: 'direct', minRatio: 0.99 },
  { text: 'socket LB: a ClusterIP connection >= 0.97x a direct one with no kpr', bench: 'socklb', scenario: 'socklb-connect', metric: /ClusterIP against no kpr/, peer: 'direct', minRatio: 0.97 },
  { text: 'steady state, 10k services, 10 min of 5 changes/s: RSS stays under 200 MB', bench: 'steady', scenario: 'steady-rss', metric: /highest RSS sampled/, scale: 10_000, maxValue: 200 },
  { text: 'steady state, 10k services, 10 min of 5 changes/s: CPU below kube-proxy nftables', bench: 'steady', scenario: 'steady-cpu', metric: /CPU over/, scale: 10_000, peer: 'kube-proxy nftables', minRatio: 1, strict: true },
];

/** The targets the benches printed before issue 6 (README). */
export const EARLIER_TARGETS: Target[] = [
  { text: 'socket LB connect rate >= 0.97x direct (one service, client outside the kpr cgroup for direct)', bench: 'socklb', scenario: 'socklb-connect', metric: /outside/, peer: 'direct', minRatio: 0.97 },
  { text: 'socket LB connect rate >= 0.97x direct (one service, both in the kpr cgroup)', bench: 'socklb', scenario: 'socklb-connect', metric: /inside/, peer: 'direct', minRatio: 0.97 },
  { text: 'XDP balanced packet <= 100 ns at 100k frontends', bench: 'xdp-cost', scenario: 'xdp-per-packet', metric: /balanced/, scale: 100_000, maxValue: 100 },
  { text: 'Maglev build, 1000 backends, M = 65537: <= 1.8 ms', bench: 'maglev', scenario: 'maglev-build', metric: /1000 backends/, scale: 65537, maxValue: 1.8 },
  { text: 'Maglev build, 1000 backends, M = 131071: <= 5 ms', bench: 'maglev', scenario: 'maglev-build', metric: /1000 backends/, scale: 131071, maxValue: 5 },
];

const at = (scale: number | undefined, unit: string | undefined) => (scale === undefined ? '' : ` at ${scale} ${unit ?? ''}`.trimEnd());

/** The rows of target's figure (any scale) from the results. */
function candidateRows(results: BenchResult[], t: Target): BenchRow[] {
  return results.filter((r) => r.bench === t.bench).flatMap((r) => r.rows.filter((row) => row.scenario === t.scenario && t.metric.test(`${row.metric} ${row.unit}`)));
}

/** Whether an error line names the peer (by its mode, e.g. "nftables") and the scale (as a whole number: 1000 is not 10000). */
export function errorMentions(error: string, peer: Peer, scale: number | undefined): boolean {
  // A whole word: "iptables" is not "iptables-legacy".
  const mode = peer.replace('kube-proxy ', '').replace(/[^\w\s-]/g, '');
  return new RegExp(`(^|[^\\w-])${mode}([^\\w-]|$)`).test(error) && (scale === undefined || new RegExp(`(^|\\D)${scale}(\\D|$)`).test(error));
}

function errorsAbout(results: BenchResult[], t: Target, peer: Peer, scale: number | undefined): string[] {
  return results
    .filter((r) => r.bench === t.bench)
    .flatMap((r) => r.errors)
    .filter((e) => errorMentions(e, peer, scale));
}

/** How many times better floorPeer does than peer at scale, when both were measured. */
function floorAdvantage(rows: BenchRow[], floorPeer: Peer, peer: Peer, scale: number | undefined): number | undefined {
  const floor = rows.find((r) => r.scale === scale && r.peer === floorPeer);
  const other = rows.find((r) => r.scale === scale && r.peer === peer);
  return floor && other ? kprAdvantage(floor.value, other.value, floor.better) : undefined;
}

/** Why a ratio is out of any LB's reach: the floor (direct, no LB at all,
 *  unless the target names another) is itself below it against that peer in this run. */
function floorNote(rows: BenchRow[], floorPeer: Peer, peer: Peer, scale: number | undefined, minRatio: number): string | undefined {
  const floor = peer === floorPeer ? undefined : floorAdvantage(rows, floorPeer, peer, scale);
  if (floor === undefined || floor >= minRatio) return undefined;
  return `out of reach here: ${floorPeer}, with no LB at all, is ${formatValue(floor)}x ${peer} in this run (the load generator and the network in between bound every peer)`;
}

/** Where a missed ratio's gap lies: in the work on the packet itself (out of reach of the design), or in the lookups. */
function workFloorNote(rows: BenchRow[], workFloor: Peer, peer: Peer, scale: number | undefined, minRatio: number): string | undefined {
  const work = floorAdvantage(rows, workFloor, peer, scale);
  if (work === undefined) return undefined;
  const what = `${workFloor}, kpr's own work on the packet (parse, rewrite, tunnel in dsr, route) with no lookup of a frontend or a flow, is ${formatValue(work)}x ${peer} in this run`;
  return work < minRatio ? `out of reach of kpr's design here: ${what}` : `${what}: the rest of the gap is what the lookups and per-flow state cost`;
}

/** A pair's ratio and where: "2.5x at 256 flows". */
const ratioAt = (p: { scale: number | undefined; kpr: BenchRow; other: BenchRow }) => `${formatValue(kprAdvantage(p.kpr.value, p.other.value, p.kpr.better))}x${at(p.scale, p.kpr.scaleUnit)}`;

function judgeRatio(t: Target, rows: BenchRow[], results: BenchResult[]): Verdict {
  const peer = t.peer as Peer;
  const subject = t.subject ?? 'kpr';
  const minRatio = t.minRatio as number;
  const pairs = [...new Set(rows.map((r) => r.scale))]
    .map((scale) => ({ scale, kpr: rows.find((r) => r.scale === scale && r.peer === subject), other: rows.find((r) => r.scale === scale && r.peer === peer) }))
    .filter((p): p is { scale: number | undefined; kpr: BenchRow; other: BenchRow } => p.kpr !== undefined && p.other !== undefined)
    .sort((a, b) => (a.scale ?? 0) - (b.scale ?? 0));
  const pair = t.scale === undefined ? pairs[pairs.length - 1] : pairs.find((p) => p.scale === t.scale);
  if (!pair) {
    const missing: Peer = rows.some((r) => r.peer === subject && (t.scale === undefined || r.scale === t.scale)) ? peer : subject;
    const elsewhere = pairs.map(ratioAt);
    const measured = `${missing}${at(t.scale, rows[0]?.scaleUnit ?? 'services')} not measured${elsewhere.length ? `; measured elsewhere: ${elsewhere.join(', ')}` : ''}`;
    return { target: t, status: 'not measured', measured, notes: errorsAbout(results, t, missing, t.scale) };
  }
  const ratio = kprAdvantage(pair.kpr.value, pair.other.value, pair.kpr.better);
  const met = t.strict ? ratio > minRatio : ratio >= minRatio;
  const unit = pair.kpr.unit;
  const measured = `${formatValue(ratio)}x${at(pair.scale, pair.kpr.scaleUnit)} (${subject} ${formatValue(pair.kpr.value)} ${unit}, ${peer} ${formatValue(pair.other.value)} ${unit})`;
  const notes = [...errorsAbout(results, t, subject, pair.scale), ...errorsAbout(results, t, peer, pair.scale)];
  if (met) return { target: t, status: 'met', measured, notes };
  const floor = floorNote(rows, t.floor ?? 'direct', peer, pair.scale, minRatio);
  const work = t.workFloor ? workFloorNote(rows, t.workFloor, peer, pair.scale, minRatio) : undefined;
  // A target judged at the largest scale names the others: one that falls short at every scale (at
  // fewer flows, every table in cache) is not a matter of scale.
  const others = (t.scale === undefined ? pairs.filter((p) => p !== pair) : []).map((p) => {
    const floorThere = t.workFloor ? floorAdvantage(rows, t.workFloor, peer, p.scale) : undefined;
    return `${ratioAt(p)}${floorThere === undefined ? '' : ` (${t.workFloor} ${formatValue(floorThere)}x)`}`;
  });
  const elsewhere = others.length ? [`in the same run: ${others.join(', ')}`] : [];
  const reasons = [...(floor ? [floor] : []), ...(work ? [work] : []), ...elsewhere];
  return { target: t, status: 'missed', measured, notes: [...reasons, ...notes], reasoned: reasons.length };
}

function judgeValue(t: Target, rows: BenchRow[], results: BenchResult[]): Verdict {
  const kpr = rows.filter((r) => r.peer === 'kpr');
  const row = t.scale === undefined ? kpr[kpr.length - 1] : kpr.find((r) => r.scale === t.scale);
  if (!row) return { target: t, status: 'not measured', measured: `kpr${at(t.scale, rows[0]?.scaleUnit)} not measured`, notes: errorsAbout(results, t, 'kpr', t.scale) };
  const met = row.value <= (t.maxValue as number);
  return { target: t, status: met ? 'met' : 'missed', measured: `${formatValue(row.value)} ${row.unit}${at(row.scale, row.scaleUnit)}`, notes: errorsAbout(results, t, 'kpr', row.scale) };
}

export function judge(results: BenchResult[], t: Target): Verdict {
  if (!results.some((r) => r.bench === t.bench)) return { target: t, status: 'not measured', measured: `no ${t.bench} results in this run`, notes: [] };
  const rows = candidateRows(results, t);
  return t.peer !== undefined ? judgeRatio(t, rows, results) : judgeValue(t, rows, results);
}
