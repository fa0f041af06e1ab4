// The peers of the datapath benchmark, each on a node namespace of its own
// linked into the benchmark's network (datapath_topology.ts), started and
// waited for until it has programmed every service:
//   - kpr, run as the agent of its node (socket LB on its cgroup, where its
//     node's clients run; the edge LB on the node's external device), its
//     maps checked with the control-plane benchmark's check;
//   - kube-proxy in iptables and in nftables mode (kube_proxy_peer.ts), its
//     ruleset dumped until it holds every service and endpoint;
//   - direct: a node with no proxy at all, whose clients aim at the
//     endpoints themselves.
import * as path from 'path';
import { SocketMaps, loadAddon } from '../../lib/datapath/native';
import { Cluster } from '../e2e/cluster';
import { runInPlace } from '../helpers/client_runner';
import { LineProcess } from '../helpers/line_process';
import { ip } from '../helpers/run';
import { sleep } from '../helpers/sleep';
import { Peer } from './bench_result';
import { BenchAgent, lbMapMaxFor, startBenchAgent } from './control_plane_agent';
import { checkMaps, Expected } from './control_plane_maps';
import { startKubeProxy } from './kube_proxy_peer';
import { ProxyMode } from './kube_proxy_rules';
import { createNodeNamespace, scrapeInNamespace } from './node_namespace';
import { waitProgrammed } from './peers_kube_proxy';
import { Population } from './peers_result';
import { Backend, EXTERNAL_DEVICE, linkNode, Slot } from './datapath_topology';

export type PeerName = 'kpr' | ProxyMode | 'direct';
export const ALL_PEERS: PeerName[] = ['kpr', 'iptables', 'iptables-legacy', 'nftables', 'direct'];
export const PEER_LABELS: Record<PeerName, Peer> = {
  kpr: 'kpr',
  iptables: 'kube-proxy iptables',
  'iptables-legacy': 'kube-proxy iptables-legacy',
  nftables: 'kube-proxy nftables',
  direct: 'direct',
};

/** Short enough for the test names made from them (naming.ts: 24 characters, the longest with "-client"). */
const PREFIXES: Record<PeerName, string> = { kpr: 'kpr', iptables: 'ipt', 'iptables-legacy': 'iptl', nftables: 'nft', direct: 'direct' };
const READY_TIMEOUT_MS = 300_000;
const MAPS_POLL_MS = 200;

export interface RunningPeer {
  name: PeerName;
  label: Peer;
  /** The node's network namespace. */
  nodeNs: string;
  /** The proxy's /metrics ('' for direct, which has none). */
  scrape(): string;
  /** Runs argv on the node as a client of the proxy, to completion. */
  onNode(argv: string[], timeoutMs: number): Promise<LineProcess>;
  /** Runs argv in the external client's namespace, to completion. */
  fromOutside(argv: string[], timeoutMs: number): Promise<LineProcess>;
  stop(): Promise<void>;
}

/** What every peer must have programmed: the population, and of it the TCP ClusterIPs kpr's map check reads. */
export interface Programmed {
  pop: Population;
  endpoints: number;
  tcp: Expected[];
}

async function inNamespace(ns: string, argv: string[], timeoutMs: number): Promise<LineProcess> {
  const proc = new LineProcess(argv.join(' '), 'ip', ['netns', 'exec', ns, ...argv]);
  await proc.waitForSuccess(timeoutMs);
  return proc;
}

/** Where a benchmark wants more than the datapath benchmark's network. */
export interface PeerOptions {
  /** kpr's --devices (default: the external device alone). */
  devices?: string[];
  /** kpr's other flags (e.g. --bpf-lb-mode dsr). */
  args?: string[];
  /** Runs once the node is linked, before the proxy is started or waited for. */
  linked?(slot: Slot, nodeNs: string): void | Promise<void>;
}

function peer(name: PeerName, nodeNs: string, slot: Slot, onNode: RunningPeer['onNode'], scrape: () => string, stop: () => Promise<void>): RunningPeer {
  return { name, label: PEER_LABELS[name], nodeNs, scrape, onNode, fromOutside: (argv, t) => inNamespace(slot.clientNs, argv, t), stop };
}

async function waitMaps(maps: SocketMaps, tcp: Expected[]): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  for (;;) {
    const c = checkMaps(maps, tcp);
    if (c.matching === tcp.length) return;
    if (performance.now() > deadline) throw new Error(`kpr: ${c.matching}/${tcp.length} services in the maps after ${READY_TIMEOUT_MS} ms: ${c.mismatches.join('; ')}`);
    await sleep(MAPS_POLL_MS);
  }
}

/** Starts peer `name` in slot k; resolves once it has programmed everything. */
export async function startPeer(name: PeerName, k: number, cluster: Cluster, backend: Backend, want: Programmed, opts: PeerOptions = {}): Promise<RunningPeer> {
  const prefix = `bench-dp-${PREFIXES[name]}`;
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s();
    stops.length = 0;
  };
  try {
    if (name !== 'kpr' && name !== 'direct') {
      const kp = await startKubeProxy(cluster, name);
      stops.push(() => kp.stop());
      const slot = linkNode(backend, kp.netns, k, prefix);
      stops.push(() => slot.destroy());
      await opts.linked?.(slot, kp.netns);
      await waitProgrammed(kp, want.pop, want.endpoints, []);
      return peer(name, kp.netns, slot, (argv, t) => inNamespace(kp.netns, argv, t), kp.scrape, stop);
    }
    const node = await createNodeNamespace(cluster, prefix);
    stops.push(() => node.destroy());
    const slot: Slot = linkNode(backend, node.netns, k, prefix);
    stops.push(() => slot.destroy());
    await opts.linked?.(slot, node.netns);
    if (name === 'direct') return peer(name, node.netns, slot, (argv, t) => inNamespace(node.netns, argv, t), () => '', stop);
    const agent: BenchAgent = await startBenchAgent({
      source: { kubeconfig: node.kubeconfig },
      prefix,
      readyTimeoutMs: READY_TIMEOUT_MS,
      lbMapMax: lbMapMaxFor(want.pop.clusterIPs.length, want.endpoints),
      netns: node.netns,
      args: ['--devices', (opts.devices ?? [EXTERNAL_DEVICE]).join(','), ...(opts.args ?? [])],
    });
    // Stopped before its namespace goes: its programs leave with it.
    stops.push(() => agent.stop());
    const maps = loadAddon().openPinnedSocketMaps(path.join(agent.bpfRoot.path, 'kpr', 'maps'));
    try {
      await waitMaps(maps, want.tcp);
    } finally {
      maps.close();
    }
    // Native XDP on a veth is not XDP on a NIC: say which one this is.
    for (const dev of opts.devices ?? [EXTERNAL_DEVICE]) {
      const xdp = /prog\/(xdp\w*) id \d+ name (\w+)/.exec(ip('-n', node.netns, 'link', 'show', dev));
      console.log(`  kpr: ${xdp ? `${xdp[2]} attached to ${dev} as ${xdp[1]}` : `no XDP program on ${dev}`}`);
    }
    const place = { cgroup: agent.cgroup.path, ns: node.netns };
    return peer(name, node.netns, slot, (argv, t) => runInPlace(place, argv, t), () => scrapeInNamespace(node.netns, agent.metricsPort), stop);
  } catch (e) {
    await stop();
    throw e;
  }
}
