// make day2: the operations an operator performs on a live cluster, each
// under a bounded load, on make cluster (issue 17):
//
//   node dist/tests/cluster/day2.js [--rows NAME,...] [--summary FILE]
//
// The load (tests/helpers/background_load.ts), per operation: new flows at
// RATE a second and one long-lived flow to each of 8 targets, TCP and UDP each:
// a pod of node 2 and node 2 itself (hostNetwork) to the ClusterIP; this host,
// outside the cluster, to node 1's NodePort and to the LoadBalancer IP (routed
// to both nodes). The echo backends run on both nodes (day2_workload.ts). A
// new flow that fails counts, and a long-lived flow with one failed probe or
// one answer from another backend than its own; a long-lived flow whose own
// backend pod the operation deleted (a drain evicts it) is counted apart, as
// ended with its backend.
//
// The migration rows perform the chart README's steps ("Replacing kube-proxy
// in an existing cluster", "Rolling back") as written there. Each row appends
// one JSON line to $KPR_DAY2_OUT (default build/day2/rows.jsonl); the run
// ends with the README's table of its rows. Without --rows: every row, in an
// order where each starts from the state the one before leaves.
import * as fs from 'fs';
import * as path from 'path';
import { metricValue } from '../bench/kube_proxy_peer';
import { REPO_ROOT } from '../e2e/cluster';
import { LoadFigures, LoadTarget, startBackgroundLoad } from '../helpers/background_load';
import { sleep } from '../helpers/sleep';
import { Place } from '../helpers/client_runner';
import { nodePlace, outsidePlace, podPlace } from './client_places';
import { Addresses, NAMESPACE, REPLICAS, SERVICE, TCP_PORT, UDP_PORT, clientPodName, echoPodsByNode, kprImage, waitWorkload, workloadUp } from './day2_workload';
import { ctr } from './images';
import { kubectlFor } from './kubectl';
import { say } from './log';
import { NODES, NodeLayout } from './layout';
import { clusterPki } from './pki';
import { KPR_CLUSTER_VALUES, KubeProxyMode } from './proxies';
import { ProxyStates, exists, kprCleanup, kubeProxyCleanup, onNode, rollout } from './proxy_states';
import { clusterUp } from './up';

const RATE = 10;
/** The load keeps going this long after an operation: what it broke late shows. */
const AFTER_MS = 10_000;
/** Bounds every client (client.ts allows 600 s); operations end well before. */
const LOAD_MAX_MS = 540_000;
const CLIENT_NODE = NODES[1];
const NODEPORT_NODE = NODES[0];
const KPR_CHART = path.join(REPO_ROOT, 'charts', 'kpr');
const BACKUP = () => path.join(REPO_ROOT, 'build', 'day2', 'kube-proxy-backup.yaml');

const kubectl = kubectlFor(clusterPki());
let states: ProxyStates;
let helm: (args: string[]) => string;

// ---- the chart README's steps ----

/** "Replacing kube-proxy in an existing cluster", steps 1-3. */
function migrateToKpr(): void {
  say('step 1: kube-proxy saved, its DaemonSet deleted');
  fs.mkdirSync(path.dirname(BACKUP()), { recursive: true });
  fs.writeFileSync(BACKUP(), kubectl(['-n', 'kube-system', 'get', 'ds,cm', 'kube-proxy', '-o', 'yaml']));
  kubectl(['-n', 'kube-system', 'delete', 'ds', 'kube-proxy']);
  say('step 2: helm install kpr, rollout status');
  helm(['install', 'kpr', KPR_CHART, ...KPR_CLUSTER_VALUES]);
  rollout('kpr');
  for (const node of NODES) {
    say(`step 3: kube-proxy --cleanup on ${node.name}`);
    kubeProxyCleanup(node);
  }
}

/** kube-proxy has written its rules on node since `since` (ms): its last
 *  sync's time, per family (the cluster is dual-stack), is later (its
 *  /healthz answers 200 before its first sync too). */
async function kubeProxySynced(node: NodeLayout, since: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    let metrics = '';
    try {
      metrics = onNode(node, ['curl', '-s', '--max-time', '2', 'http://127.0.0.1:10249/metrics']);
    } catch {
      // not listening yet
    }
    if ((['IPv4', 'IPv6'] as const).every((f) => (metricValue(metrics, 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', f) ?? 0) * 1000 >= since)) return;
    if (Date.now() > deadline) throw new Error(`kube-proxy on ${node.name} has not synced its rules within 60 s`);
    await sleep(500);
  }
}

/** "Rolling back", steps 1-3. */
async function rollBackToKubeProxy(): Promise<void> {
  say('step 1: helm uninstall kpr');
  helm(['uninstall', 'kpr', '--wait']);
  say('step 2: kube-proxy re-created from the backup, rollout status, its rules written on each node');
  const applied = Date.now();
  kubectl(['apply', '-f', BACKUP()]);
  rollout('kube-proxy');
  for (const node of NODES) await kubeProxySynced(node, applied);
  for (const node of NODES) {
    say(`step 3: kpr cleanup on ${node.name}`);
    const said = kprCleanup(node).trim().split('\n');
    // What it handed to conntrack (when there was a flow to), and its count.
    for (const line of [...said.filter((l) => l.startsWith('handed ')), said[said.length - 1]]) say(line);
  }
}

// ---- the states rows start from (proxy_states.ts) ----

const kubeProxyServing = (mode: KubeProxyMode) => states.kubeProxyServing(mode);
const kprServing = () => states.kprServing();

// ---- the operations on kpr ----

function kprPod(node: NodeLayout): { name: string; containerId: string; restarts: number } {
  const pods = JSON.parse(kubectl(['-n', 'kube-system', 'get', 'pods', '-l', 'app.kubernetes.io/name=kpr', `--field-selector=spec.nodeName=${node.name}`, '-o', 'json'])) as {
    items: { metadata: { name: string; deletionTimestamp?: string }; status: { containerStatuses?: { containerID?: string; restartCount: number }[] } }[];
  };
  const pod = pods.items.find((p) => !p.metadata.deletionTimestamp);
  const status = pod?.status.containerStatuses?.[0];
  if (!pod || !status?.containerID) throw new Error(`no running kpr pod on ${node.name}`);
  return { name: pod.metadata.name, containerId: status.containerID.replace(/^\w+:\/\//, ''), restarts: status.restartCount };
}

/** Until node's kpr pod is Ready again after an operation on it (restarted, or replaced). */
async function kprBack(node: NodeLayout, before: { name: string; restarts: number }): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    await sleep(1000);
    try {
      const now = kprPod(node);
      if (now.name === before.name && now.restarts === before.restarts) continue;
      kubectl(['-n', 'kube-system', 'wait', '--for=condition=Ready', `pod/${now.name}`, '--timeout=50s']);
      return;
    } catch {
      // between pods
    }
  }
  throw new Error(`kpr on ${node.name} not back within 120 s`);
}

/** On each node in turn: the operation on its kpr pod, then until it is back. */
async function eachKpr(what: string, op: (node: NodeLayout, pod: { name: string; containerId: string }) => void): Promise<void> {
  for (const node of NODES) {
    const pod = kprPod(node);
    say(`${what}: ${pod.name} on ${node.name}`);
    op(node, pod);
    await kprBack(node, pod);
  }
}

/** The agent's pid on this host (nodes share its pid namespace): the kpr container's first process. */
function agentPid(node: NodeLayout, containerId: string): number {
  const task = ctr(node, ['tasks', 'ls']).split('\n').find((l) => l.startsWith(containerId));
  if (!task) throw new Error(`no task for container ${containerId} on ${node.name}`);
  return Number(task.trim().split(/\s+/)[1]);
}

function evict(pod: string): void {
  const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod, namespace: 'kube-system' } };
  kubectl(['create', '--raw', `/api/v1/namespaces/kube-system/pods/${pod}/eviction`, '-f', '-'], JSON.stringify(eviction));
}

const NEXT_TAG = () => `${kprImage().split(':')[1]}-next`;

async function helmUpgrade(): Promise<void> {
  // A new image for the DaemonSet to roll to: the same build under a new tag.
  for (const node of NODES) ctr(node, ['images', 'tag', '--force', `docker.io/library/${kprImage()}`, `docker.io/library/kpr:${NEXT_TAG()}`]);
  say(`helm upgrade kpr to image kpr:${NEXT_TAG()} with twice the map capacity`);
  helm(['upgrade', 'kpr', KPR_CHART, '--reuse-values', `--set=image.tag=${NEXT_TAG()}`, '--set=bpf.mapMax=131072']);
  rollout('kpr');
}

async function helmRollback(): Promise<void> {
  say('helm rollback kpr (to the revision before the upgrade)');
  helm(['rollback', 'kpr', '--wait']);
  rollout('kpr');
}

async function drainAndRejoin(): Promise<void> {
  const node = NODES[0].name;
  say(`kubectl drain ${node}`);
  kubectl(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=55s']);
  await waitWorkload(kubectl);
  say(`kubectl uncordon ${node}; the echo Deployment scaled up, its new pods on ${node}`);
  kubectl(['uncordon', node]);
  kubectl(['-n', NAMESPACE, 'scale', `deployment/${SERVICE}`, `--replicas=${REPLICAS + 2}`]);
  await waitWorkload(kubectl);
  const back = [...echoPodsByNode(kubectl).values()].filter((n) => n === node).length;
  if (back === 0) throw new Error(`no echo pod came back to ${node}`);
}

// ---- rows ----

interface Row {
  name: string;
  operation: string;
  /** The state the row starts from. */
  from: () => Promise<void>;
  run: () => Promise<void>;
}

const ROWS: Row[] = [
  { name: 'migrate-nftables', operation: 'kube-proxy (nftables) → kpr: the chart README\'s steps', from: () => kubeProxyServing('nftables'), run: async () => migrateToKpr() },
  { name: 'rollback-nftables', operation: 'kpr → kube-proxy (nftables): the chart README\'s rollback', from: async () => undefined, run: rollBackToKubeProxy },
  { name: 'migrate-iptables', operation: 'kube-proxy (iptables) → kpr', from: () => kubeProxyServing('iptables'), run: async () => migrateToKpr() },
  { name: 'rollback-iptables', operation: 'kpr → kube-proxy (iptables)', from: async () => undefined, run: rollBackToKubeProxy },
  { name: 'helm-upgrade', operation: '`helm upgrade` to a new image tag with twice the map capacity (rolling, one node at a time)', from: kprServing, run: helmUpgrade },
  { name: 'helm-rollback', operation: '`helm rollback` to the previous image and map capacity', from: async () => undefined, run: helmRollback },
  {
    name: 'container-kill',
    operation: 'kpr container stopped by its runtime (SIGTERM), on each node in turn',
    from: kprServing,
    run: () => eachKpr('ctr task kill', (node, pod) => ctr(node, ['tasks', 'kill', pod.containerId])),
  },
  {
    name: 'kill-9',
    operation: 'kpr agent killed with SIGKILL, as the OOM killer does, on each node in turn',
    from: kprServing,
    run: () => eachKpr('kill -9', (node, pod) => process.kill(agentPid(node, pod.containerId), 'SIGKILL')),
  },
  { name: 'pod-delete', operation: 'kpr pod deleted (`kubectl delete pod`), on each node in turn', from: kprServing, run: () => eachKpr('kubectl delete pod', (_, pod) => kubectl(['-n', 'kube-system', 'delete', 'pod', pod.name, '--wait=false'])) },
  { name: 'evict', operation: 'kpr pod evicted (Eviction API) while the node\'s pods keep serving, on each node in turn', from: kprServing, run: () => eachKpr('evict', (_, pod) => evict(pod.name)) },
  { name: 'drain', operation: `node 1 drained (its echo pods evicted to node 2), uncordoned, endpoints back on it`, from: kprServing, run: drainAndRejoin },
];

interface RowResult {
  row: string;
  operation: string;
  attempted: number;
  failed: number;
  errors: Record<string, number>;
  holdsOpened: number;
  holdsBroken: number;
  /** Of the broken ones, those whose own backend pod the operation deleted. */
  holdsEndedWithBackend: number;
  seconds: number;
}

function loadTargets(a: Addresses, pod: Place, host: Place, outside: Place): LoadTarget[] {
  const both = (name: string, addr: string, tcp: number, udp: number, place: LoadTarget['place']): LoadTarget[] => [
    { name: `${name} TCP`, addr, port: tcp, place },
    { name: `${name} UDP`, addr, port: udp, place, proto: 'udp' },
  ];
  return [
    ...both('pod → ClusterIP', a.clusterIp, TCP_PORT, UDP_PORT, pod),
    ...both('hostNetwork → ClusterIP', a.clusterIp, TCP_PORT, UDP_PORT, host),
    ...both('outside → NodePort', NODEPORT_NODE.ip, a.tcpNodePort, a.udpNodePort, outside),
    ...both('outside → LoadBalancer IP', a.lbIp, TCP_PORT, UDP_PORT, outside),
  ];
}

async function runRow(row: Row, addresses: Addresses): Promise<RowResult> {
  say(`--- ${row.name}: ${row.operation}`);
  await row.from();
  kubectl(['-n', NAMESPACE, 'scale', `deployment/${SERVICE}`, `--replicas=${REPLICAS}`]);
  await waitWorkload(kubectl);
  const host = nodePlace(CLIENT_NODE);
  const outside = outsidePlace();
  try {
    const podsBefore = echoPodsByNode(kubectl);
    const load = await startBackgroundLoad(loadTargets(addresses, podPlace(kubectl, NAMESPACE, clientPodName(CLIENT_NODE.name)), host, outside), { connectionsPerSecond: RATE, holds: 1, maxMs: LOAD_MAX_MS });
    const start = Date.now();
    let figures: LoadFigures[];
    try {
      await row.run();
      await sleep(AFTER_MS);
    } finally {
      figures = await load.stop();
    }
    const podsAfter = echoPodsByNode(kubectl);
    const gone = new Set([...podsBefore.keys()].filter((p) => !podsAfter.has(p)));
    const sum = (f: (x: LoadFigures) => number) => figures.reduce((n, x) => n + f(x), 0);
    const errors: Record<string, number> = {};
    for (const f of figures) for (const [k, v] of Object.entries(f.errors)) errors[`${f.target}: ${k}`] = v;
    const result: RowResult = {
      row: row.name,
      operation: row.operation,
      attempted: sum((f) => f.attempted),
      failed: sum((f) => f.failed),
      errors,
      holdsOpened: sum((f) => f.holdsOpened),
      holdsBroken: sum((f) => f.holdsBroken),
      holdsEndedWithBackend: sum((f) => f.brokenHoldBackends.filter((b) => b !== undefined && gone.has(b)).length),
      seconds: Math.round((Date.now() - start) / 1000),
    };
    say(`${row.name}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    host.release();
    outside.release();
  }
}

function tableOf(results: RowResult[]): string {
  const lines = ['| operation | attempted | failed | held flows broken | of which ended with their backend pod | seconds |', '|---|---|---|---|---|---|'];
  for (const r of results) lines.push(`| ${r.operation} | ${r.attempted} | ${r.failed} | ${r.holdsBroken} / ${r.holdsOpened} | ${r.holdsEndedWithBackend} | ${r.seconds} |`);
  return lines.join('\n');
}

/** A row passes when no new flow failed and no held flow broke but those whose backend pod the operation ended. */
export function rowPassed(r: RowResult): boolean {
  return r.failed === 0 && r.holdsBroken === r.holdsEndedWithBackend;
}

function parseRows(argv: string[]): Row[] {
  const at = argv.indexOf('--rows');
  if (at < 0) return ROWS;
  const names = (argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = names.filter((n) => !ROWS.some((r) => r.name === n));
  if (unknown.length || names.length === 0) throw new Error(`--rows ${names.join(',')}: rows are ${ROWS.map((r) => r.name).join(', ')}`);
  return ROWS.filter((r) => names.includes(r.name));
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const rows = parseRows(argv);
  const summary = argv.includes('--summary') ? argv[argv.indexOf('--summary') + 1] : undefined;
  const out = process.env.KPR_DAY2_OUT || path.join(REPO_ROOT, 'build', 'day2', 'rows.jsonl');
  const kubeconfig = await clusterUp();
  states = new ProxyStates(kubeconfig);
  helm = states.helm;
  // The workload needs a service proxy to become Ready (its pods' probes do not, the LB status does not).
  if (!exists('ds', 'kpr') && !exists('ds', 'kube-proxy')) await kprServing();
  const addresses = await workloadUp(kubectl, [CLIENT_NODE.name]);
  const results: RowResult[] = [];
  for (const row of rows) {
    const r = await runRow(row, addresses);
    results.push(r);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.appendFileSync(out, `${JSON.stringify(r)}\n`);
  }
  console.log(tableOf(results));
  const failed = results.filter((r) => !rowPassed(r)).length;
  for (const r of results) say(`${rowPassed(r) ? 'ok' : 'FAILED'}: ${r.operation}`);
  if (summary) fs.writeFileSync(summary, JSON.stringify({ passed: results.length - failed, failed }));
  if (failed > 0) process.exit(1);
}

if (require.main === module) main().catch((e: Error) => {
  console.error(`day2: ${e.stack ?? e.message}`);
  process.exit(1);
});
