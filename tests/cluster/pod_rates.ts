// Benchmark on make cluster (make bench-pods), not a test: pods as clients.
// The same client pod on node 2 sends to a ClusterIP service whose two rrd
// backends (tests/bench/rrd.c, from this repo's build/ on a hostPath) run one
// on each node, through kpr (installed by its chart) and through kube-proxy
// nftables, one after the other in rounds on the same cluster and pods, the
// proxy switched between them as make day2 does (proxy_states.ts), the order
// alternating from round to round. Beside each, the same client aimed at the
// backends' pod IPs (direct: no service), in every phase. The client is this
// host's build/connrate or build/rrclient joined to the pod's cgroup and
// network namespace (client_places.ts), so it is the pod's as far as either
// proxy can tell, and no image has to carry it.
//
//   node dist/tests/cluster/pod_rates.js [--rounds 3] [--seconds 5] [--json PATH]
//
// Results: benchmarks/results/pod-rates.json, each figure the median of its
// rounds with the rounds kept.
import * as path from 'path';
import { REPO_ROOT } from '../e2e/cluster';
import { BenchResult, jsonPath, newResult, Peer, writeResult } from '../bench/bench_result';
import { connections, connrate, Measure, requests, rrclient, ClientOutput, untilClean } from '../bench/datapath_scenarios';
import { count } from '../bench/scale_options';
import { ofRounds } from '../bench/stats';
import { runInPlace, Place } from '../helpers/client_runner';
import { podPlace } from './client_places';
import { kprImage, waitWorkload } from './day2_workload';
import { kubectlFor } from './kubectl';
import { NODES } from './layout';
import { say } from './log';
import { clusterPki } from './pki';
import { ProxyStates } from './proxy_states';
import { clusterUp } from './up';

const NAMESPACE = 'kpr-pod-rates';
const SERVICE = 'rr';
const TCP_PORT = 80;
const UDP_PORT = 81;
const BACKEND_PORT = 8080;
const CLIENT = 'client';
const CLIENT_NODE = NODES[1];
const BENCH = 'pod-rates';
const RUN_MARGIN_MS = 20_000;
const PROBE_ATTEMPTS = 30;

const kubectl = kubectlFor(clusterPki());

interface Options {
  rounds: number;
  seconds: number;
  json: string;
}

function parseOptions(args: string[]): Options {
  const o: Options = { rounds: 3, seconds: 5, json: jsonPath(BENCH, args) };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, v] = [args[i], args[i + 1]];
    if (flag === '--rounds') o.rounds = count(flag, v);
    else if (flag === '--seconds') o.seconds = count(flag, v);
    else if (flag !== '--json') throw new Error(`unknown flag or missing value: ${flag}`);
  }
  return o;
}

function workload(): object[] {
  const build = { name: 'build', hostPath: { path: path.join(REPO_ROOT, 'build'), type: 'Directory' } };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: SERVICE, namespace: NAMESPACE },
      spec: {
        replicas: NODES.length,
        selector: { matchLabels: { app: SERVICE } },
        template: {
          metadata: { labels: { app: SERVICE } },
          spec: {
            terminationGracePeriodSeconds: 0,
            topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: SERVICE } } }],
            volumes: [build],
            containers: [
              {
                name: 'rrd',
                image: kprImage(),
                command: ['/build/rrd', String(BACKEND_PORT), '7200'],
                volumeMounts: [{ name: 'build', mountPath: '/build', readOnly: true }],
                readinessProbe: { tcpSocket: { port: BACKEND_PORT }, periodSeconds: 1 },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: SERVICE, namespace: NAMESPACE },
      spec: {
        selector: { app: SERVICE },
        ports: [
          { name: 'tcp', port: TCP_PORT, targetPort: BACKEND_PORT, protocol: 'TCP' },
          { name: 'udp', port: UDP_PORT, targetPort: BACKEND_PORT, protocol: 'UDP' },
        ],
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: CLIENT, namespace: NAMESPACE },
      spec: { nodeName: CLIENT_NODE.name, terminationGracePeriodSeconds: 0, containers: [{ name: 'sandbox', image: kprImage(), command: ['sleep', 'infinity'] }] },
    },
  ];
}

interface Addresses {
  clusterIP: string;
  backends: string[];
}

async function workloadUp(): Promise<Addresses> {
  kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: workload() }));
  await waitWorkload(kubectl, NAMESPACE, SERVICE);
  const clusterIP = kubectl(['get', 'service', '-n', NAMESPACE, SERVICE, '-o', 'jsonpath={.spec.clusterIP}']).trim();
  const backends = kubectl(['get', 'pods', '-n', NAMESPACE, '-l', `app=${SERVICE}`, '-o', 'jsonpath={.items[*].status.podIP}']).trim().split(/\s+/);
  return { clusterIP, backends };
}

interface Scenario {
  name: string;
  argv(a: Addresses, direct: boolean, seconds: number): string[];
  measures(o: ClientOutput): Measure[];
}

/** Addresses a client goes round: the clients' kept-alive mode holds one connection per address, so
 *  both sides get SPREAD of them, the ClusterIP's each to a backend of the proxy's choosing, the
 *  direct ones half to each backend (one is on the client's node, the other across the nodes' link). */
const SPREAD = 8;
const spread = (addrs: string[]) => Array.from({ length: SPREAD }, (_, k) => addrs[k % addrs.length]);
const tcp = (a: Addresses, direct: boolean) => (direct ? { addrs: spread(a.backends), port: BACKEND_PORT } : { addrs: spread([a.clusterIP]), port: TCP_PORT });
const udp = (a: Addresses, direct: boolean) => (direct ? { addrs: spread(a.backends), port: BACKEND_PORT } : { addrs: spread([a.clusterIP]), port: UDP_PORT });

const SCENARIOS: Scenario[] = [
  { name: 'pod-clusterip-tcp-connect', argv: (a, d, s) => connrate(tcp(a, d), s), measures: connections },
  { name: 'pod-clusterip-tcp-rr-short', argv: (a, d, s) => rrclient('tcp-short', tcp(a, d), s), measures: requests },
  { name: 'pod-clusterip-tcp-rr-keepalive', argv: (a, d, s) => rrclient('tcp-keepalive', tcp(a, d), s), measures: requests },
  { name: 'pod-clusterip-udp-rr', argv: (a, d, s) => rrclient('udp', udp(a, d), s), measures: requests },
];

async function runOnce(place: Place, argv: string[], seconds: number): Promise<ClientOutput> {
  const proc = await runInPlace(place, argv, seconds * 1000 + RUN_MARGIN_MS);
  return JSON.parse(proc.stdoutLines[proc.stdoutLines.length - 1]) as ClientOutput;
}

/** Every scenario once, clean, through the ClusterIP: the proxy just installed serves it. */
async function probe(place: Place, a: Addresses): Promise<void> {
  for (const s of SCENARIOS) await untilClean(s.name, () => runOnce(place, s.argv(a, false, 1), 1), PROBE_ATTEMPTS);
}

type Phase = { peer: Peer; serve(states: ProxyStates): Promise<void> };
const PHASES: Phase[] = [
  { peer: 'kpr', serve: (s) => s.kprServing() },
  { peer: 'kube-proxy nftables', serve: (s) => s.kubeProxyServing('nftables') },
];

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const result: BenchResult = newResult(BENCH, { ...o, client: `build/connrate and build/rrclient in the cgroup and network namespace of a pod on ${CLIENT_NODE.name}`, backends: 'build/rrd in a pod on each node' });
  const states = new ProxyStates(await clusterUp());
  // The workload needs a proxy to become Ready (the service's endpoints do not, the probe does).
  await PHASES[0].serve(states);
  const addresses = await workloadUp();
  const place = podPlace(kubectl, NAMESPACE, CLIENT);
  say(`ClusterIP ${addresses.clusterIP}, backends ${addresses.backends.join(', ')}`);
  const values = new Map<string, { peer: Peer; scenario: string; m: Measure[] }>();
  const keep = (peer: Peer, scenario: string, ms: Measure[]) => {
    for (const m of ms) {
      const key = `${peer}|${scenario}|${m.metric}`;
      const entry = values.get(key) ?? { peer, scenario, m: [] };
      entry.m.push(m);
      values.set(key, entry);
    }
  };
  for (let round = 1; round <= o.rounds; round++) {
    const order = round % 2 === 1 ? PHASES : [...PHASES].reverse();
    for (const phase of order) {
      say(`round ${round}/${o.rounds}: ${phase.peer}`);
      await phase.serve(states);
      await probe(place, addresses);
      for (const s of SCENARIOS) {
        for (const direct of [false, true]) {
          const out = await runOnce(place, s.argv(addresses, direct, o.seconds), o.seconds);
          const peer: Peer = direct ? 'direct' : phase.peer;
          if (out.errors > 0) result.errors.push(`${peer} ${s.name} round ${round}: ${out.errors} errors (${out.firstError})`);
          keep(peer, s.name, s.measures(out));
          say(`  ${s.name} ${direct ? 'direct' : 'via ClusterIP'}: ${Math.round(out.rate)}/s${out.p50us === undefined ? '' : `, p50 ${out.p50us} us`}`);
        }
      }
    }
  }
  for (const { peer, scenario, m } of values.values()) {
    result.rows.push({ scenario, peer, metric: m[0].metric, unit: m[0].unit, better: m[0].better, ...ofRounds(m.map((x) => x.value)) });
  }
  (result.notes ??= []).push('direct (the backends\' pod IPs, no service) is measured in every phase, under each proxy in turn: its figure is the median of both.');
  writeResult(o.json, result);
  if (result.errors.length) throw new Error(`failed:\n${result.errors.join('\n')}`);
}

main().catch((e: Error) => {
  console.error(`pod-rates: ${e.stack ?? e.message}`);
  process.exit(1);
});
