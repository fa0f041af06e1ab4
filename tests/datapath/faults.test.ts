// Faults under load (issue 7), standalone mode: while a bounded background
// load makes new connections and holds long-lived ones through a ClusterIP
// (socket LB, from a process on node A) and a NodePort (XDP edge LB, from
// the outside client through node A), the agents are killed, upgraded, or
// given programs the kernel refuses. No connection may fail, and no held
// flow may miss a probe. Two nodes (tests/helpers/edge_topology.ts), each
// with an agent and two pods, so that half of the backends are remote.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startAgent } from '../helpers/agent';
import { LoadFigures, LoadTarget, reportFigures, startBackgroundLoad } from '../helpers/background_load';
import { BpfRoot, createBpfRoot } from '../helpers/bpf_root';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { createEdgeTopology, EdgeNode, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { LineProcess } from '../helpers/line_process';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { xdpProgramId } from '../helpers/netns';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';
import { sleep } from '../helpers/sleep';
import { pinPaths } from '../../lib/host/bpffs';
import { KernelStatus, loadAddon, repoRoot } from '../../lib/datapath/native';

jest.setTimeout(90_000);

const TARGET_PORT = 8080;
const NODE_PORT = 30080;
const CLUSTER_IP = '198.19.9.10';
/** Per target: 100 new connections a second, and two held flows; bounded by maxMs. */
const LOAD = { connectionsPerSecond: 100, holds: 2, maxMs: 30_000 };
const LOAD_TEXT = `${LOAD.connectionsPerSecond} conn/s + ${LOAD.holds} held flows, each of ClusterIP and NodePort`;
/** Enough connections that a fault window of a few hundred ms would show. */
const MIN_ATTEMPTED = 300;
/** Load before and after a fault, so that both sides of it are measured. */
const STEADY_MS = 1500;

/** --bpf-lb-map-max before an upgrade; after it, twice as much. */
const MAP_MAX = 4096;
const BPF_OBJECTS = ['sock_lb.o', 'xdp_lb.o', 'tc_dsr.o'];
/** Test builds the verifier refuses (tests/native), each with every map of the real one. */
const REJECTED = { sock: path.join(repoRoot(), 'build', 'verifier_reject.o'), xdp: path.join(repoRoot(), 'build', 'xdp_reject.o') };

/** One node's agent and the state it keeps across restarts. */
interface NodeAgent {
  node: EdgeNode;
  root: BpfRoot;
  cgroup: TestCgroup;
  process?: LineProcess;
}

describe('faults under load (standalone)', () => {
  let topo: EdgeTopology;
  let manifests: string;
  let clientCgroup: TestCgroup;
  const servers: EchoServer[] = [];
  let agents: NodeAgent[] = [];
  const dirs: string[] = [];

  /** A --bpf-object-dir: the installed build, with some objects replaced by others. */
  function objectDir(replaced: Record<string, string> = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-faults-bpf-'));
    dirs.push(dir);
    for (const o of BPF_OBJECTS) fs.copyFileSync(replaced[o] ?? path.join(repoRoot(), 'bpf', o), path.join(dir, o));
    return dir;
  }

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('faults', 2);
    for (const n of topo.nodes) for (const p of n.pods) servers.push(await startEchoServer(p.ns, p.name, { tcp: [TARGET_PORT] }));
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-faults-'));
    clientCgroup = createTestCgroup('faults-client');
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    const endpoints = topo.nodes.flatMap((n) => n.pods.map((p) => ({ addr: p.ipv4, node: n.name })));
    const port = { name: 'p', port: 80, targetPort: TARGET_PORT, protocol: 'TCP' as const, nodePort: NODE_PORT };
    writeManifest(manifests, 'web.yaml', serviceManifest({ namespace: 'faults', name: 'web', clusterIPs: [CLUSTER_IP], ports: [port], endpoints, extraSpec: { type: 'NodePort' } }));
  });

  afterAll(() => tearDownEdgeTest({ servers, topo, clientCgroup, dirs: [manifests, ...dirs] }));

  afterEach(async () => {
    await Promise.all(agents.map((a) => a.process?.stop('SIGKILL')));
    for (const a of agents) {
      a.root.destroy();
      a.cgroup.destroy();
    }
    agents = [];
  });

  async function startNodeAgent(a: NodeAgent, args: string[] = []): Promise<LineProcess> {
    a.process = await startAgent({
      manifests,
      bpfRoot: a.root.path,
      cgroupRoot: a.cgroup.path,
      netns: a.node.ns,
      args: ['--hostname-override', a.node.name, '--devices', a.node.device, ...args],
    });
    return a.process;
  }

  /** Fresh agents on both nodes, serving the service. */
  async function startCluster(args: string[] = []): Promise<void> {
    agents = topo.nodes.map((node) => ({ node, root: createBpfRoot(`faults-${node.name}`), cgroup: createTestCgroup(`faults-${node.name}`) }));
    await Promise.all(agents.map((a) => startNodeAgent(a, args)));
  }

  /** The ClusterIP from a process of node A (its agent's cgroup), the NodePort from outside. */
  function targets(): LoadTarget[] {
    const [a] = agents;
    return [
      { name: 'ClusterIP', addr: CLUSTER_IP, port: 80, place: { cgroup: a.cgroup.path, ns: a.node.ns } },
      { name: 'NodePort', addr: a.node.ipv4, port: NODE_PORT, place: { cgroup: clientCgroup.path, ns: topo.client.ns } },
    ];
  }

  /** The ids of the programs attached on a's node: its cgroup's socket programs, its device's XDP program. */
  function attachedPrograms(a: NodeAgent): { cgroup: number[]; xdp?: number } {
    const cgroup = (JSON.parse(run('bpftool', ['-j', 'cgroup', 'show', a.cgroup.path])) as { id: number }[]).map((p) => p.id).sort();
    return { cgroup, xdp: xdpProgramId(a.node.ns, a.node.device) };
  }

  function kernelStatus(a: NodeAgent): KernelStatus {
    const pins = pinPaths(a.root.path);
    return loadAddon().kernelStatus({ mapDir: pins.maps, linkDir: pins.links });
  }

  /** The services and backends in a's pinned maps, both LBs, ids and all. */
  function programmedEntries(a: NodeAgent): unknown {
    const mapDir = pinPaths(a.root.path).maps;
    const sock = loadAddon().openPinnedSocketMaps(mapDir);
    const edge = loadAddon().openPinnedEdgeMaps(mapDir);
    try {
      const byJson = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();
      return { services: byJson(sock.dumpServices()), backends: byJson(sock.dumpBackends()), frontends: byJson(edge.dumpFrontends()), edgeBackends: byJson(edge.dumpBackends()) };
    } finally {
      sock.close();
      edge.close();
    }
  }

  /** Runs fault under load; returns the figures and how long the fault took to settle. */
  async function underLoad(fault: () => Promise<number | undefined>): Promise<{ figures: LoadFigures[]; convergeMs?: number }> {
    const load = await startBackgroundLoad(targets(), LOAD);
    let convergeMs: number | undefined;
    try {
      await sleep(STEADY_MS);
      convergeMs = await fault();
      await sleep(STEADY_MS);
    } catch (e) {
      await load.stop();
      throw e;
    }
    return { figures: await load.stop(), convergeMs };
  }

  function expectUnharmed(figures: LoadFigures[]): void {
    for (const f of figures) {
      expect({ target: f.target, failed: f.failed, errors: f.errors, holdsBroken: f.holdsBroken }).toEqual({ target: f.target, failed: 0, errors: {}, holdsBroken: 0 });
      expect(f.attempted).toBeGreaterThanOrEqual(MIN_ATTEMPTED);
      expect(f.holdsOpened).toBe(LOAD.holds);
    }
  }

  test('agent kill -9 and restart: no connection fails, held flows keep flowing', async () => {
    await startCluster();
    const { figures, convergeMs } = await underLoad(async () => {
      await Promise.all(agents.map((a) => a.process?.stop('SIGKILL')));
      await sleep(300); // connections keep being made while no agent runs
      const start = Date.now();
      await Promise.all(agents.map((a) => startNodeAgent(a)));
      return Date.now() - start;
    });
    reportFigures('agent kill -9 and restart', LOAD_TEXT, figures, convergeMs);
    expectUnharmed(figures);
    for (const a of agents) expect(a.process?.lines.join('\n')).toMatch(/adopted [1-9]\d* frontends/);
  });

  test('programs the kernel refuses: the agent says why, and the programs attached before keep serving', async () => {
    await startCluster();
    const [a] = agents;
    const before = attachedPrograms(a);
    expect(before.cgroup.length).toBeGreaterThanOrEqual(8);
    expect(before.xdp).toBeDefined();
    const { figures } = await underLoad(async () => {
      await a.process?.stop();
      // The socket LB's new build is refused: the agent stops, saying why, and leaves the old programs attached.
      await expect(startNodeAgent(a, ['--bpf-object-dir', objectDir({ 'sock_lb.o': REJECTED.sock })])).rejects.toThrow(
        /kpr: loading BPF object \S+\/sock_lb\.o: Permission denied \(errno 13\)[\s\S]*invalid access to map value/,
      );
      expect(attachedPrograms(a)).toEqual(before);
      await sleep(STEADY_MS);
      // The edge LB's new build is refused: the socket LB takes its new build, the old XDP program stays.
      const agent = await startNodeAgent(a, ['--bpf-object-dir', objectDir({ 'xdp_lb.o': REJECTED.xdp })]);
      expect(agent.lines.join('\n')).toMatch(/edge: loading \S+\/xdp_lb\.o and \S+\/tc_dsr\.o failed: loading BPF object \S+\/xdp_lb\.o: Permission denied[\s\S]*invalid access to map value/);
      const after = attachedPrograms(a);
      expect(after.xdp).toBe(before.xdp);
      expect(after.cgroup).toHaveLength(before.cgroup.length);
      expect(after.cgroup.filter((id) => before.cgroup.includes(id))).toEqual([]);
      return undefined;
    });
    reportFigures('BPF load failure (verifier rejection)', LOAD_TEXT, figures);
    expectUnharmed(figures);
  });

  test('upgrade to a new build with a map capacity change: maps migrated with their entries, no connection fails', async () => {
    await startCluster(['--bpf-lb-map-max', String(MAP_MAX)]);
    const [a] = agents;
    const before = attachedPrograms(a);
    const entriesBefore = programmedEntries(a);
    const upgrade = objectDir();
    const { figures, convergeMs } = await underLoad(async () => {
      await Promise.all(agents.map((x) => x.process?.stop()));
      const start = Date.now();
      await Promise.all(agents.map((x) => startNodeAgent(x, ['--bpf-object-dir', upgrade, '--bpf-lb-map-max', String(2 * MAP_MAX)])));
      return Date.now() - start;
    });
    reportFigures('BPF program upgrade with map capacity change', LOAD_TEXT, figures, convergeMs);
    expectUnharmed(figures);
    // New programs in place of the old ones (links and the device's XDP program replaced) ...
    const after = attachedPrograms(a);
    expect(after.cgroup.filter((id) => before.cgroup.includes(id))).toEqual([]);
    expect(after.xdp).not.toBe(before.xdp);
    // ... over maps of the new capacity that kept every entry.
    const log = a.process?.lines.join('\n') ?? '';
    for (const m of ['kpr_services', 'kpr_backends', 'kpr_edge_frontends', 'kpr_edge_flows4']) expect(log).toMatch(new RegExp(`maps: ${m} migrated from \\d+ to \\d+ entries, [1-9]\\d* entries carried over`));
    const maps = kernelStatus(a).maps;
    expect(maps).toContainEqual(expect.objectContaining({ name: 'kpr_backends', maxEntries: 2 * MAP_MAX }));
    expect(maps).toContainEqual(expect.objectContaining({ name: 'kpr_edge_frontends', maxEntries: 2 * MAP_MAX }));
    expect(programmedEntries(a)).toEqual(entriesBefore);
  });
});
