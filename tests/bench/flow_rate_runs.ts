// One run of the flow-rate benchmark through a peer: flowrate.c in the
// external client's namespace at a rate for a time, with what the backend
// served meanwhile and the peer's NAT state around it: kpr's snat drops
// (kpr_drops_total{reason=~"snat_.*"}, beside its other edge drops), its snat map's occupancy
// (kpr_bpf_map_entries{map="kpr_edge_snat"}, as the flow collector's last
// pass left it) and what the collector deleted, from its metrics endpoint; kube-proxy's counterparts from
// the kernel's conntrack in its node namespace (entries, and the new
// connections conntrack could not insert or dropped). The backend's own UDP
// receive errors are counted too: a loss there is behind any proxy.
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { run } from '../helpers/run';
import { Backend } from './datapath_topology';
import { RunningPeer } from './datapath_peers';
import { CLIENT_SOURCES } from './flow_rate_topology';
import { TCP_NODE_PORT, UDP_NODE_PORT } from './flow_rate_objects';
import { NODE_ADDRESS } from './control_plane_objects';

export type Proto = 'tcp' | 'udp';
export const PROTOS: Proto[] = ['tcp', 'udp'];

const FLOWRATE = path.join(repoRoot(), 'build', 'flowrate');
/** Beyond its seconds: a flow may open 1 s late and take 2 s to time out; then starting it in a namespace. */
const RUN_MARGIN_MS = 20_000;
/** Of the failure fraction: "< 0.1% failed". */
export const FAILURE_LIMIT = 0.001;

/** flowrate.c's JSON line. */
export interface FlowRateOutput {
  proto: Proto;
  rate: number;
  seconds: number;
  scheduled: number;
  attempted: number;
  ok: number;
  failed: number;
  firstError: string;
  errors: Record<string, number>;
  achievedRate: number;
  maxLagMs: number;
  elapsed: number;
  perSecond: { ok: number[]; failed: number[] };
}

/** A peer's per-flow NAT state: entries now, NAT drops so far, and every drop counter by reason. */
export interface NatState {
  /** Undefined until kpr's collector has finished a pass over its snat map. */
  entries?: number;
  drops: number;
  byReason: Record<string, number>;
  /** kpr: snat entries its flow collector has deleted so far (kpr_flow_gc_deleted_total). */
  collected?: number;
}

const sum = (xs: Record<string, number>) => Object.values(xs).reduce((a, b) => a + b, 0);

export interface RunResult {
  out: FlowRateOutput;
  /** Flows the backend served during the run. */
  served: number;
  natEntries?: number;
  natDrops: number;
  /** Every drop counter that moved during the run (kpr: all its edge drop reasons). */
  dropsByReason: Record<string, number>;
  /** kpr: snat entries its flow collector deleted during the run. */
  collected?: number;
}

/** Whether the generator opened every flow of the run on time (flowrate.c). */
export const keptRate = (o: FlowRateOutput): boolean => o.attempted === o.scheduled;
export const failedFraction = (o: FlowRateOutput): number => (o.attempted === 0 ? 1 : o.failed / o.attempted);

/** Samples of `name{labels} value` lines whose labels contain `match`, keyed by the value of label `key`. */
function series(text: string, name: string, match: RegExp, key: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (!match.test(labels)) continue;
    const k = new RegExp(`${key}="([^"]*)"`).exec(labels)?.[1] ?? '';
    out[k] = (out[k] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

/** kpr's snat state, from its /metrics. */
export function kprNatState(metrics: string): NatState {
  const byReason = series(metrics, 'kpr_drops_total', /datapath="edge"/, 'reason');
  const entries = series(metrics, 'kpr_bpf_map_entries', /map="kpr_edge_snat"/, 'map').kpr_edge_snat;
  const collected = series(metrics, 'kpr_flow_gc_deleted_total', /map="kpr_edge_snat"/, 'map').kpr_edge_snat ?? 0;
  return { entries, collected, drops: sum(Object.fromEntries(Object.entries(byReason).filter(([r]) => r.startsWith('snat_')))), byReason };
}

/** Conntrack's counters that mean a new connection lost (/proc/net/stat/nf_conntrack, per CPU, hex). */
const CONNTRACK_DROPS = ['insert_failed', 'drop', 'early_drop'];

export function conntrackDrops(stat: string): Record<string, number> {
  const [header, ...cpus] = stat.trim().split('\n');
  const names = header.trim().split(/\s+/);
  const out: Record<string, number> = {};
  for (const name of CONNTRACK_DROPS) {
    const col = names.indexOf(name);
    if (col < 0) throw new Error(`/proc/net/stat/nf_conntrack: no ${name} column`);
    out[name] = cpus.reduce((sum, line) => sum + parseInt(line.trim().split(/\s+/)[col], 16), 0);
  }
  return out;
}

function conntrackState(netns: string): NatState {
  const inNs = (file: string) => run('ip', ['netns', 'exec', netns, 'cat', file]);
  const byReason = conntrackDrops(inNs('/proc/net/stat/nf_conntrack'));
  return { entries: Number(inNs('/proc/sys/net/netfilter/nf_conntrack_count').trim()), drops: sum(byReason), byReason };
}

/** The backend's UDP datagrams lost on arrival (/proc/net/snmp's Udp RcvbufErrors): a drop behind the proxy, not in it. */
export function udpReceiveErrors(snmp: string): number {
  const [names, values] = snmp.split('\n').filter((l) => l.startsWith('Udp: '));
  const col = names?.split(' ').indexOf('RcvbufErrors') ?? -1;
  if (col < 0 || !values) throw new Error('/proc/net/snmp: no Udp RcvbufErrors');
  return Number(values.split(' ')[col]);
}

const backendUdpErrors = (b: Backend) => udpReceiveErrors(run('ip', ['netns', 'exec', b.ns, 'cat', '/proc/net/snmp']));

export function natState(p: RunningPeer): NatState {
  return p.name === 'kpr' ? kprNatState(p.scrape()) : conntrackState(p.nodeNs);
}

export function flowrateArgv(proto: Proto, rate: number, seconds: number): string[] {
  const port = proto === 'tcp' ? TCP_NODE_PORT : UDP_NODE_PORT;
  return [FLOWRATE, proto, NODE_ADDRESS, String(port), String(rate), String(seconds), CLIENT_SOURCES.first, String(CLIENT_SOURCES.count)];
}

export async function runFlows(p: RunningPeer, backend: Backend, proto: Proto, rate: number, seconds: number): Promise<RunResult> {
  const served = (c: { tcpAccepted: number; udpAnswered: number }) => (proto === 'tcp' ? c.tcpAccepted : c.udpAnswered);
  const before = natState(p);
  const servedBefore = served(await backend.counts());
  const lostBefore = backendUdpErrors(backend);
  const proc = await p.fromOutside(flowrateArgv(proto, rate, seconds), seconds * 1000 + RUN_MARGIN_MS);
  const out = JSON.parse(proc.stdoutLines[proc.stdoutLines.length - 1]) as FlowRateOutput;
  const servedAfter = served(await backend.counts());
  const after = natState(p);
  const moved: Record<string, number> = { ...after.byReason, backend_udp_rcvbuf_errors: backendUdpErrors(backend) };
  const was: Record<string, number> = { ...before.byReason, backend_udp_rcvbuf_errors: lostBefore };
  const dropsByReason = Object.fromEntries(Object.entries(moved).map(([r, n]): [string, number] => [r, n - (was[r] ?? 0)]).filter(([, n]) => n > 0));
  return { out, served: servedAfter - servedBefore, natEntries: after.entries, natDrops: after.drops - before.drops, dropsByReason, collected: after.collected === undefined ? undefined : after.collected - (before.collected ?? 0) };
}
