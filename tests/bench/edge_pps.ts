// Benchmark (make bench-edge-pps, part of make bench), not a test: packets/s
// through the NodePort path when the load balancer, not the load generator,
// is what bounds the rate. The generator is the kernel's own: a frame
// template run by BPF_PROG_TEST_RUN in live-frames mode out of the external
// client's device (edge_pps_tools.ts, tests/native/bench_xdp_gen.c), each copy
// from the next of --addrs x --ports source addresses and ports; the backend's
// device counts what arrives and drops it (bench_xdp_count.c). The generator
// is pinned to one CPU (--cpu) and everything it causes runs there too: a
// veth hands a frame on in the sender's softirq, so the rate is what one CPU
// does with the generator, the node's path and the counter, and only the
// node's path differs from peer to peer.
//
// The NodePort is the flow-rate benchmark's UDP one, whose one endpoint runs
// on another node (flow_rate_objects.ts): kpr forwards in snat mode, and in
// dsr mode (IP-in-IP to the endpoint's node), kube-proxy (iptables on the
// nft and on the legacy backend, nftables) DNATs and masquerades. Beside them, two floors with no load balancer at all, aimed at
// the endpoint itself: the node's IP forwarding (direct), and an XDP program
// that only redirects to the backend's device (xdp redirect,
// bench_xdp_redirect.c). Two more floors measure kpr's design: kpr's own work
// on the packet in each mode (kpr work floor, kpr dsr work floor,
// bench_xdp_work.c) on the agent's maps with no lookup at all, so that kpr's
// distance from them is what its lookups and per-flow state cost. Peers run one after the other on the same network
// (datapath_peers.ts, flow_rate_topology.ts); for each, a warm-up round puts
// every flow into its tables, then --rounds rounds of --seconds are kept.
// Each peer runs at each number of flows in turn: 256 (64 addresses x 4
// ports), where every table is in cache, which is what a path costs apart
// from its tables' size, then 16384 (x 256 ports), more of the tables than a
// CPU's caches hold.
//
// Flags: --seconds 5 --rounds 5 --ports 4,256 (per address, increasing) --cpu N (default: the last)
// --peers kpr,kpr-dsr,iptables,iptables-legacy,nftables,direct,xdp-redirect,kpr-work,kpr-dsr-work
// --json PATH (default benchmarks/results/edge-pps.json).
import * as os from 'os';
import { Cluster } from '../e2e/cluster';
import { xdpProgramId } from '../helpers/netns';
import { assertPrivileged } from '../helpers/preflight';
import { BenchResult, finishRun, jsonPath, newResult, Peer } from './bench_result';
import { BACKEND_PORT, NODE_ADDRESS } from './control_plane_objects';
import { PEER_LABELS, PeerName, RunningPeer, startPeer } from './datapath_peers';
import { Backend, BACKEND_DEVICE, createBackend, EXTERNAL_DEVICE, macAddress, passXdp, Slot } from './datapath_topology';
import { Counter, Flows, LiveFramesRefused, send, SendTarget, startCounter, startRedirect, startWork } from './edge_pps_tools';
import { FlowRateServices, programmedFor, UDP_NODE_PORT, withFlowRateObjects } from './flow_rate_objects';
import { CLIENT_SOURCES, extendSlot } from './flow_rate_topology';
import { describeMachine } from './machine';
import { count } from './scale_options';
import { ofRounds } from './stats';

type EdgePeer = PeerName | 'kpr-dsr' | 'kpr-work' | 'kpr-dsr-work' | 'xdp-redirect';
const EDGE_PEERS: EdgePeer[] = ['kpr', 'kpr-dsr', 'iptables', 'iptables-legacy', 'nftables', 'direct', 'xdp-redirect', 'kpr-work', 'kpr-dsr-work'];
const LABELS: Record<EdgePeer, Peer> = { ...PEER_LABELS, 'kpr-dsr': 'kpr dsr', 'xdp-redirect': 'xdp redirect', 'kpr-work': 'kpr work floor', 'kpr-dsr-work': 'kpr dsr work floor' };
const DSR: EdgePeer[] = ['kpr-dsr', 'kpr-dsr-work'];
const WORK: EdgePeer[] = ['kpr-work', 'kpr-dsr-work'];
/** What each runs on its node: kpr in either mode (its work floors on kpr's maps), the other floors on nodes with no proxy. */
const baseOf = (name: EdgePeer): PeerName => (name === 'kpr-dsr' || name === 'kpr-work' || name === 'kpr-dsr-work' ? 'kpr' : name === 'xdp-redirect' ? 'direct' : name);
/** Under a work floor the agent's full sync would put its own program back (attachment_repair.ts). */
const NO_FULL_SYNC = ['--sync-period', '24h'];

export const EDGE_PPS_SCENARIO = 'nodeport-udp-pps';
const BENCH = 'edge-pps';
const WARMUP_SECONDS = 1;
/** Below this share of the warm-up's frames at the backend, a peer does not carry the traffic. */
const MIN_CARRIED = 0.5;

interface Options {
  seconds: number;
  rounds: number;
  /** Source ports per address, one run of rounds each. */
  ports: number[];
  cpu: number;
  peers: EdgePeer[];
  json: string;
}

function parseOptions(args: string[]): Options {
  const o: Options = { seconds: 5, rounds: 5, ports: [4, 256], cpu: os.cpus().length - 1, peers: EDGE_PEERS, json: jsonPath(BENCH, args) };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, v] = [args[i], args[i + 1]];
    if (flag === '--seconds') o.seconds = count(flag, v);
    else if (flag === '--rounds') o.rounds = count(flag, v);
    else if (flag === '--ports') o.ports = (v ?? '').split(',').map((n) => count(flag, n));
    else if (flag === '--cpu') {
      o.cpu = Number(v);
      if (!Number.isInteger(o.cpu) || o.cpu < 0 || o.cpu >= os.cpus().length) throw new Error(`--cpu takes 0 to ${os.cpus().length - 1}, got ${JSON.stringify(v)}`);
    } else if (flag === '--peers') {
      o.peers = (v ?? '').split(',') as EdgePeer[];
      if (o.peers.some((p) => !EDGE_PEERS.includes(p))) throw new Error(`--peers takes a comma-separated list of ${EDGE_PEERS.join(',')}, got ${JSON.stringify(v)}`);
    } else if (flag !== '--json') throw new Error(`unknown flag or missing value: ${flag}`);
  }
  if (o.ports.some((n) => n > 64_000)) throw new Error('--ports takes at most 64000 each');
  if (o.ports.some((n, k) => k > 0 && n <= o.ports[k - 1])) throw new Error('--ports must increase');
  return o;
}

/** Through a load balancer: the NodePort; the floors: the endpoint itself. */
function targetOf(name: EdgePeer, services: FlowRateServices, nodeNs: string): SendTarget {
  const mac = macAddress(nodeNs, EXTERNAL_DEVICE);
  const floor = baseOf(name) === 'direct';
  return floor ? { mac, addr: services.udp.endpoints[0], port: BACKEND_PORT } : { mac, addr: NODE_ADDRESS, port: UDP_NODE_PORT };
}

interface Round {
  sent: number;
  arrived: number;
  seconds: number;
}

/** One peer at one number of flows: a warm-up that puts every flow into its tables, then the rounds. */
async function measureFlows(o: Options, counter: Counter, clientNs: string, to: SendTarget, flows: Flows, result: BenchResult, label: Peer): Promise<void> {
  const scale = flows.addrs * flows.ports;
  const round = async (seconds: number): Promise<Round> => {
    const before = await counter.packets();
    const out = await send(clientNs, o.cpu, flows, to, seconds, 'live-frames');
    return { sent: out.sent, arrived: (await counter.packets()) - before, seconds: out.seconds };
  };
  const warm = await round(WARMUP_SECONDS);
  if (warm.arrived < MIN_CARRIED * warm.sent) throw new Error(`warm-up at ${scale} flows: ${warm.arrived} of ${warm.sent} frames reached the backend`);
  const rounds: Round[] = [];
  for (let k = 1; k <= o.rounds; k++) {
    const r = await round(o.seconds);
    rounds.push(r);
    console.log(`  ${scale} flows, round ${k}: ${Math.round(r.arrived / r.seconds)} packets/s at the backend, ${r.sent - r.arrived} of ${r.sent} sent lost`);
  }
  const pps = rounds.map((r) => r.arrived / r.seconds);
  result.rows.push({ scenario: EDGE_PPS_SCENARIO, scale, scaleUnit: 'flows', peer: label, metric: 'packets/s at the backend', unit: 'pps', better: 'higher', ...ofRounds(pps) });
  (result.samples ??= []).push({
    scenario: EDGE_PPS_SCENARIO,
    scale,
    peer: label,
    series: { arrivedPerSecond: pps, sentPerSecond: rounds.map((r) => r.sent / r.seconds), lost: rounds.map((r) => r.sent - r.arrived) },
    detail: { target: `${to.addr}:${to.port}`, warmup: warm },
  });
}

async function measurePeer(o: Options, cluster: Cluster, services: FlowRateServices, result: BenchResult, name: EdgePeer): Promise<void> {
  const label = LABELS[name];
  const base = baseOf(name);
  const stops: (() => Promise<void>)[] = [];
  try {
    const backend: Backend = await createBackend(`pps-${name}-be`);
    stops.push(() => backend.destroy());
    console.log(`starting ${label}`);
    let slot: Slot | undefined;
    const p: RunningPeer = await startPeer(base, 0, cluster, backend, programmedFor(services), {
      devices: [EXTERNAL_DEVICE, BACKEND_DEVICE],
      args: [...(DSR.includes(name) ? ['--bpf-lb-mode', 'dsr'] : []), ...(WORK.includes(name) ? NO_FULL_SYNC : [])],
      linked: async (s, nodeNs) => {
        slot = s;
        await extendSlot(backend, s, nodeNs);
        // A veth takes redirected frames only into a device with an XDP
        // program: kpr brings its own, the others get one that passes all.
        if (base !== 'kpr') passXdp(nodeNs, EXTERNAL_DEVICE);
      },
    });
    stops.push(() => p.stop());
    const linked = slot as Slot;
    if (name === 'xdp-redirect') {
      const r = await startRedirect(p.nodeNs, EXTERNAL_DEVICE, BACKEND_DEVICE, macAddress(backend.ns, linked.backendDev));
      stops.push(() => r.stop());
    }
    let floorProgram: number | undefined;
    if (WORK.includes(name)) {
      const w = await startWork(p.nodeNs, EXTERNAL_DEVICE, DSR.includes(name) ? 'dsr' : 'snat');
      stops.push(() => w.stop());
      floorProgram = xdpProgramId(p.nodeNs, EXTERNAL_DEVICE);
    }
    const counter = await startCounter(backend.ns, linked.backendDev);
    stops.push(() => counter.stop());
    const to = targetOf(name, services, p.nodeNs);
    for (const ports of o.ports) await measureFlows(o, counter, linked.clientNs, to, { firstSource: CLIENT_SOURCES.first, addrs: CLIENT_SOURCES.count, ports }, result, label);
    if (floorProgram !== undefined && xdpProgramId(p.nodeNs, EXTERNAL_DEVICE) !== floorProgram) throw new Error(`the work floor's program was taken off ${EXTERNAL_DEVICE} during the rounds: its figures are not its own`);
  } catch (e) {
    result.errors.push(`${label}: ${(e as Error).message.split('\n')[0]}`);
    console.log(`  ${result.errors[result.errors.length - 1]}`);
    // Every later peer would meet it too.
    if (e instanceof LiveFramesRefused) throw e;
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}

function printSummary(result: BenchResult, o: Options): void {
  console.log(`\nUDP packets/s through a NodePort to one backend on another node, one CPU (${o.cpu}) for generator, node and counter; ${describeMachine()}`);
  for (const r of result.rows) {
    const floor = result.rows.find((f) => f.peer === 'xdp redirect' && f.scale === r.scale)?.value;
    const spread = `${Math.round(Math.min(...(r.rounds ?? [r.value])))}-${Math.round(Math.max(...(r.rounds ?? [r.value])))}`;
    console.log(`  ${r.peer.padEnd(20)} ${String(r.scale).padStart(5)} flows ${Math.round(r.value)} pps (rounds ${spread})${floor ? `, ${(r.value / floor).toFixed(3)}x the XDP redirect floor` : ''}`);
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  assertPrivileged();
  const started = performance.now();
  const result = newResult(BENCH, { ...o, addrs: CLIENT_SOURCES.count, frameBytes: 60 });
  await withFlowRateObjects('bench-pps', async (cluster, services) => {
    for (const name of o.peers) await measurePeer(o, cluster, services, result, name);
  }).catch((e: Error) => {
    if (!(e instanceof LiveFramesRefused)) throw e;
  });
  printSummary(result, o);
  finishRun(o.json, result, started);
}

main().catch((e: Error) => {
  console.error(`bench edge-pps: ${e.message}`);
  process.exit(1);
});
