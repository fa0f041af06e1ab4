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
import { LineProcess } from '../helpers/line_process';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { EchoServer, startEchoServer } from '../helpers/servers';
import { sleep } from '../helpers/sleep';

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

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    topo?.destroy();
    clientCgroup?.destroy();
    if (manifests) fs.rmSync(manifests, { recursive: true, force: true });
  });

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
});
