// Benchmark (make bench-datapath, part of make bench), not a test: the
// datapath through kpr beside real kube-proxy in iptables and in nftables
// mode and beside no proxy at all ("direct": the client aims at the backend
// itself), in the same run on the same machine, against one kube-apiserver
// filled with ClusterIP services of 10 endpoints (control_plane_objects.ts)
// plus a UDP ClusterIP and two NodePort services (datapath_objects.ts). Each peer has a
// node network namespace of its own, with an external client beside it and
// the one backend namespace behind it (datapath_topology.ts); all peers run
// at once, each waited for until it has programmed everything
// (datapath_peers.ts), then every scenario (datapath_scenarios.ts) is
// measured in short rounds, the peers' order rotating from round to round
// so that a slow stretch of the shared machine hits every peer alike; the
// figures are the medians of the rounds.
//
// Flags: --services 100[,10000] --rounds 9 --seconds 1 --endpoints 10
// --peers kpr,iptables,nftables,direct --concurrency 32 --json PATH
// (default benchmarks/results/datapath.json).
import { Cluster, startCluster } from '../e2e/cluster';
import { assertPrivileged } from '../helpers/preflight';
import { BenchResult, jsonPath, newResult, writeResult } from './bench_result';
import { ApiWriter } from './control_plane_api';
import { createBase, initialEndpoints } from './control_plane_objects';
import { populate } from './control_plane_populate';
import { createExtraServices, ExtraServices, targets } from './datapath_objects';
import { ALL_PEERS, PeerName, PEER_LABELS, Programmed, RunningPeer, startPeer } from './datapath_peers';
import { printDatapathReport } from './datapath_report';
import { ClientOutput, Scenario, SCENARIOS, untilClean } from './datapath_scenarios';
import { count } from './scale_options';
import { Backend, createBackend } from './datapath_topology';
import { Population } from './peers_result';
import { ofRounds } from './stats';

interface Options {
  services: number[];
  rounds: number;
  seconds: number;
  endpoints: number;
  peers: PeerName[];
  concurrency: number;
  json: string;
}

const BENCH = 'datapath';
/** A client's run: its seconds, and starting it inside a namespace. */
const RUN_MARGIN_MS = 20_000;
/** Before measuring, each scenario must run clean through each peer. */
const PROBE_ATTEMPTS = 10;

function parseOptions(args: string[]): Options {
  const o: Options = { services: [100], rounds: 9, seconds: 1, endpoints: 10, peers: ALL_PEERS, concurrency: 32, json: jsonPath(BENCH, args) };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, v] = [args[i], args[i + 1]];
    if (flag === '--services') o.services = (v ?? '').split(',').map((s) => count(flag, s));
    else if (flag === '--rounds') o.rounds = count(flag, v);
    else if (flag === '--seconds') o.seconds = count(flag, v);
    else if (flag === '--endpoints') o.endpoints = count(flag, v);
    else if (flag === '--concurrency') o.concurrency = count(flag, v);
    else if (flag === '--peers') {
      o.peers = (v ?? '').split(',') as PeerName[];
      if (o.peers.length === 0 || o.peers.some((p) => !ALL_PEERS.includes(p))) throw new Error(`--peers takes ${ALL_PEERS.join(',')}`);
    } else if (flag !== '--json') throw new Error(`unknown flag or missing value: ${flag}`);
  }
  if (o.services.some((s, k) => k > 0 && s <= o.services[k - 1])) throw new Error('--services must increase');
  return o;
}

async function runOnce(p: RunningPeer, s: Scenario, pop: Population, extra: ExtraServices, seconds: number): Promise<ClientOutput> {
  const argv = s.argv(targets(pop, extra, p.name === 'direct'), seconds);
  const proc = await (s.from === 'node' ? p.onNode(argv, seconds * 1000 + RUN_MARGIN_MS) : p.fromOutside(argv, seconds * 1000 + RUN_MARGIN_MS));
  return JSON.parse(proc.stdoutLines[proc.stdoutLines.length - 1]) as ClientOutput;
}

/** Every scenario once, clean, through p: what it has programmed carries traffic. */
async function probe(p: RunningPeer, pop: Population, extra: ExtraServices): Promise<void> {
  for (const s of SCENARIOS) await untilClean(s.name, () => runOnce(p, s, pop, extra, 1), PROBE_ATTEMPTS);
}

async function startPeers(o: Options, cluster: Cluster, backend: Backend, want: Programmed, extra: ExtraServices, result: BenchResult, scale: number): Promise<RunningPeer[]> {
  const running: RunningPeer[] = [];
  for (const [k, name] of o.peers.entries()) {
    const t0 = performance.now();
    console.log(`starting ${PEER_LABELS[name]} on ${scale} services`);
    // A peer that fails is reported; the others still run.
    try {
      const p = await startPeer(name, k, cluster, backend, want);
      try {
        await probe(p, want.pop, extra);
      } catch (e) {
        await p.stop();
        throw e;
      }
      running.push(p);
      console.log(`  programmed and carrying every scenario's traffic after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (e) {
      result.errors.push(`${PEER_LABELS[name]} at ${scale} services: ${(e as Error).message.split('\n')[0]}`);
      console.log(`  ${result.errors[result.errors.length - 1]}`);
    }
  }
  return running;
}

async function measure(o: Options, running: RunningPeer[], pop: Population, extra: ExtraServices, result: BenchResult, scale: number): Promise<void> {
  const outputs = new Map<string, ClientOutput[]>();
  const key = (s: Scenario, p: RunningPeer) => `${s.name}|${p.label}`;
  for (let round = 1; round <= o.rounds; round++) {
    for (const s of SCENARIOS) {
      const line: string[] = [];
      for (let i = 0; i < running.length; i++) {
        const p = running[(round + i) % running.length];
        try {
          const out = await runOnce(p, s, pop, extra, o.seconds);
          if (out.errors > 0) result.errors.push(`${p.label} ${s.name} at ${scale} services, round ${round}: ${out.errors} errors (${out.firstError})`);
          outputs.set(key(s, p), [...(outputs.get(key(s, p)) ?? []), out]);
          line.push(`${p.name} ${Math.round(out.rate)}`);
        } catch (e) {
          result.errors.push(`${p.label} ${s.name} at ${scale} services, round ${round}: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      console.log(`  round ${round}/${o.rounds} ${s.name}: ${line.join(', ')} /s`);
    }
  }
  for (const s of SCENARIOS) {
    for (const p of running) {
      const outs = outputs.get(key(s, p)) ?? [];
      if (outs.length === 0) continue;
      const per = outs.map((out) => s.measures(out));
      per[0].forEach((m, j) => result.rows.push({ scenario: s.name, scale, scaleUnit: 'services', peer: p.label, metric: m.metric, unit: m.unit, better: m.better, ...ofRounds(per.map((ms) => ms[j].value)) }));
    }
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  assertPrivileged();
  const started = performance.now();
  const result = newResult(BENCH, { ...o });
  console.log('starting kube-apiserver and etcd');
  const cluster = await startCluster({ prefix: 'bench-dp' });
  const api = new ApiWriter(cluster, o.concurrency);
  let backend: Backend | undefined;
  try {
    backend = await createBackend('bench-dp-backend');
    await createBase(api);
    const extra = await createExtraServices(api, o.endpoints);
    const pop: Population = { clusterIPs: [], endpoints: [] };
    for (const scale of o.services) {
      const from = pop.clusterIPs.length;
      console.log(`populating services ${from}..${scale - 1} (${o.endpoints} endpoints each)`);
      pop.clusterIPs.push(...(await populate(api, from, scale, o.endpoints)).clusterIPs);
      for (let i = from; i < scale; i++) pop.endpoints.push(initialEndpoints(i, o.endpoints));
      const extras = [extra.udp, extra.nodePort, extra.udpNodePort];
      const want: Programmed = {
        pop: { clusterIPs: [...pop.clusterIPs, ...extras.map((e) => e.clusterIP)], endpoints: [...pop.endpoints, ...extras.map((e) => e.endpoints)] },
        endpoints: o.endpoints,
        tcp: [...pop.clusterIPs.map((clusterIP, i) => ({ clusterIP, addresses: pop.endpoints[i] })), { clusterIP: extra.nodePort.clusterIP, addresses: extra.nodePort.endpoints }],
      };
      const running = await startPeers(o, cluster, backend, want, extra, result, scale);
      try {
        if (running.length > 0) await measure(o, running, pop, extra, result, scale);
      } finally {
        for (const p of running) await p.stop();
      }
    }
  } finally {
    api.close();
    await backend?.destroy();
    await cluster.stop();
  }
  printDatapathReport(result.rows, o);
  console.log(`\nwhole run: ${((performance.now() - started) / 60_000).toFixed(1)} min`);
  writeResult(o.json, result);
  if (result.errors.length > 0) throw new Error(`failed:\n${result.errors.join('\n')}`);
}

main().catch((e: Error) => {
  console.error(`bench datapath: ${e.message}`);
  process.exit(1);
});
