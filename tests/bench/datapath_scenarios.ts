// The datapath benchmark's scenarios: which client runs where, aimed at
// what, and the figures it yields. Clients are ours, bounded in count and
// time: connrate.c (connect and close) and rrclient.c (request/response,
// and a windowed UDP flood for packets per second);
// the backend answers with rrd.c.
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { sleep } from '../helpers/sleep';
import { Target, Targets } from './datapath_objects';

const BUILD = path.join(repoRoot(), 'build');
const MAX_CONNECTS = 5_000_000;
/** rrclient keeps every latency: 4 bytes each. */
const MAX_REQUESTS = 2_000_000;

export interface Measure {
  metric: 'connections/s' | 'requests/s' | 'latency p50' | 'latency p99' | 'packets/s';
  unit: 'conn/s' | 'rps' | 'us' | 'pps';
  value: number;
  better: 'higher' | 'lower';
}

/** The last line of connrate and rrclient: counts, rate and (rrclient) latency. */
export interface ClientOutput {
  errors: number;
  firstError: string;
  rate: number;
  p50us?: number;
  p99us?: number;
}

export interface Scenario {
  name: string;
  /** On the node (ClusterIP), or from the external client namespace (NodePort). */
  from: 'node' | 'external';
  argv(t: Targets, seconds: number): string[];
  measures(o: ClientOutput): Measure[];
}

export const connrate = (t: Target, seconds: number) => [path.join(BUILD, 'connrate'), t.addrs.join(','), String(t.port), String(seconds), String(MAX_CONNECTS)];
export const rrclient = (mode: string, t: Target, seconds: number) => [path.join(BUILD, 'rrclient'), mode, t.addrs.join(','), String(t.port), String(seconds), String(MAX_REQUESTS)];

export const connections = (o: ClientOutput): Measure[] => [{ metric: 'connections/s', unit: 'conn/s', value: o.rate, better: 'higher' }];
export const requests = (o: ClientOutput): Measure[] => [
  { metric: 'requests/s', unit: 'rps', value: o.rate, better: 'higher' },
  { metric: 'latency p50', unit: 'us', value: o.p50us ?? NaN, better: 'lower' },
  { metric: 'latency p99', unit: 'us', value: o.p99us ?? NaN, better: 'lower' },
];

const PROBE_RETRY_MS = 1000;

/** Runs once() until a run is clean (no errors, some answered): what a proxy
 *  has just programmed carries the traffic. Throws after `attempts` tries. */
export async function untilClean(what: string, once: () => Promise<ClientOutput>, attempts: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const out = await once();
    if (out.errors === 0 && out.rate > 0) return;
    if (attempt === attempts) throw new Error(`${what}: ${out.errors} errors (${out.firstError}) in each of ${attempts} tries`);
    await sleep(PROBE_RETRY_MS);
  }
}

export const SCENARIOS: Scenario[] = [
  { name: 'clusterip-tcp-connect', from: 'node', argv: (t, s) => connrate(t.clusterTcp, s), measures: connections },
  { name: 'clusterip-tcp-rr-short', from: 'node', argv: (t, s) => rrclient('tcp-short', t.clusterTcp, s), measures: requests },
  { name: 'clusterip-tcp-rr-keepalive', from: 'node', argv: (t, s) => rrclient('tcp-keepalive', t.clusterTcp, s), measures: requests },
  { name: 'clusterip-udp-rr', from: 'node', argv: (t, s) => rrclient('udp', t.clusterUdp, s), measures: requests },
  { name: 'nodeport-tcp-connect', from: 'external', argv: (t, s) => connrate(t.nodePort, s), measures: connections },
  // Answered datagrams: each one a packet in and a packet out through the node.
  { name: 'nodeport-pps', from: 'external', argv: (t, s) => rrclient('udp-flood', t.udpNodePort, s), measures: (o) => [{ metric: 'packets/s', unit: 'pps', value: o.rate, better: 'higher' }] },
];
