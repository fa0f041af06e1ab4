// NodePort addresses as kube-proxy chooses them, with real traffic: node A
// of the two-node edge topology (tests/helpers/edge_topology.ts) runs the
// agent with XDP on its device, and while it runs an address of each family
// is added to that device (and removed again). An outside client connects to
// the NodePort on it, and on node A's own addresses; `--nodeport-addresses`
// decides which are served. The backends are a pod on each node, both
// families, the remote one reached in the default snat mode. Each test
// starts node A's agent on fresh maps.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pinPaths } from '../../lib/host/bpffs';
import { EdgeServiceRow } from '../../lib/cli/edge_listing';
import { repoRoot } from '../../lib/datapath/native';
import { ServiceRow } from '../../lib/cli/service_listing';
import { formatFrontend } from '../../lib/model/frontend';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { Place, runClient } from '../helpers/client_runner';
import { createEdgeTopology, EdgeNode, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { ip, run } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';
import { sleep } from '../helpers/sleep';
import { readFrontends } from './edge_maps';

jest.setTimeout(180_000);

const TARGET = 8080;
const NODE_PORT = 30080;
const KPR = path.join(repoRoot(), 'bin', 'kpr');
/** Added to node A's device, on the test segment (198.18.0.0/24, fd00:198:18::/64). */
const EXTRA = { ipv4: '198.18.0.77', ipv6: 'fd00:198:18::77' };
/** From `ip addr add` (or del) to the maps: a read of the interfaces (every 1 s) and a sync, with room for a loaded machine. */
const CHANGE_WITHIN_MS = 5000;
const POLL_MS = 50;
/** Connections to an address that must all be served, or all refused. */
const SERVED = 500;
const REFUSED = 200;

const nodePort = (addr: string) => formatFrontend({ addr, port: NODE_PORT, proto: 'TCP' });
const sorted = (xs: Iterable<string>) => [...xs].sort();

describe('NodePort addresses: the interfaces of the node, chosen by --nodeport-addresses, kept current', () => {
  let topo: EdgeTopology;
  let nodeA: EdgeNode;
  let manifests: string;
  let clientCgroup: TestCgroup;
  let client: Place;
  let agentA: EdgeNodeAgent | undefined;
  const servers: EchoServer[] = [];
  const figures: string[] = [];

  async function startNodeA(args: string[]): Promise<void> {
    agentA = await startEdgeNodeAgent(nodeA, manifests, args);
  }

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('npaddr', 1);
    nodeA = topo.nodes[0];
    const pods = topo.nodes.map((n) => ({ pod: n.pods[0], node: n.name }));
    for (const { pod } of pods) servers.push(await startEchoServer(pod.ns, pod.name, { tcp: [TARGET] }));
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-npaddr-'));
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    writeManifest(
      manifests,
      'web.yaml',
      serviceManifest({
        namespace: 'npaddr',
        name: 'web',
        clusterIPs: ['198.19.8.10', 'fd00:198:18:ff::10'],
        ports: [{ name: 'p', port: 80, targetPort: TARGET, protocol: 'TCP', nodePort: NODE_PORT }],
        endpoints: pods.flatMap(({ pod, node }) => [
          { addr: pod.ipv4, node },
          { addr: pod.ipv6, node },
        ]),
        extraSpec: { type: 'NodePort' },
      }),
    );
    clientCgroup = createTestCgroup('npaddr-client');
    client = { cgroup: clientCgroup.path, ns: topo.client.ns };
  });

  afterEach(async () => {
    await agentA?.stop();
    agentA = undefined;
    if (nodeA) removeExtra();
  });

  afterAll(async () => {
    await tearDownEdgeTest({ servers, topo, clientCgroup, dirs: [manifests] });
    if (figures.length > 0) process.stdout.write(`nodeport addresses:\n${figures.map((f) => `  ${f}\n`).join('')}`);
  });

  function addExtra(): void {
    ip('-n', nodeA.ns, 'addr', 'add', `${EXTRA.ipv4}/24`, 'dev', nodeA.device);
    ip('-n', nodeA.ns, 'addr', 'add', `${EXTRA.ipv6}/64`, 'dev', nodeA.device, 'nodad');
  }

  function removeExtra(): void {
    const held = ip('-n', nodeA.ns, '-j', 'addr', 'show', 'dev', nodeA.device);
    for (const [addr, len] of [[EXTRA.ipv4, 24], [EXTRA.ipv6, 64]] as const) {
      if (held.includes(`"${addr}"`)) ip('-n', nodeA.ns, 'addr', 'del', `${addr}/${len}`, 'dev', nodeA.device);
    }
  }

  /** The NodePort frontends in node A's edge map, as the kernel holds them. */
  const edgeNodePorts = (): Set<string> =>
    new Set(readFrontends(pinPaths(agentA!.root.path).maps).filter((f) => f.port === NODE_PORT).map(formatFrontend));

  /** Waits (bounded) until the edge map's NodePorts pass check; returns how long that took from since. */
  async function edgeNodePortsUntil(what: string, check: (fes: Set<string>) => boolean, since: number): Promise<number> {
    for (;;) {
      const fes = edgeNodePorts();
      if (check(fes)) return Date.now() - since;
      if (Date.now() - since > CHANGE_WITHIN_MS) throw new Error(`not within ${CHANGE_WITHIN_MS} ms: ${what}; the edge map has ${[...fes].join(', ')}`);
      await sleep(POLL_MS);
    }
  }

  /** `kpr services` on node A: the NodePort frontends of each LB. */
  function listedNodePorts(): { socket: string[]; edge: string[] } {
    const rows = JSON.parse(run(KPR, ['services', '--bpf-root', agentA!.root.path, '-o', 'json'])) as ((ServiceRow & { lb: 'socket' }) | (EdgeServiceRow & { lb: 'edge' }))[];
    const of = (lb: string) => sorted(rows.filter((r) => r.lb === lb && r.frontend.endsWith(`:${NODE_PORT}/TCP`)).map((r) => r.frontend));
    return { socket: of('socket'), edge: of('edge') };
  }

  /** Waits until node A's agent has read an interface change and synced after it. */
  async function agentSaw(change: RegExp): Promise<void> {
    const agent = agentA!.process;
    await agent.waitUntil(
      `${change} and a sync after it`,
      () => {
        const lines = agent.lines;
        const at = lines.findIndex((l) => change.test(l));
        return at >= 0 && lines.slice(at + 1).some((l) => /\bsync: /.test(l)) ? true : undefined;
      },
      CHANGE_WITHIN_MS,
    );
  }

  async function expectServed(addr: string): Promise<void> {
    const r = await runClient(client, { mode: 'tcp', addr, port: NODE_PORT, count: SERVED });
    expect({ addr, errors: r.errors, answered: r.results.length }).toEqual({ addr, errors: {}, answered: SERVED });
    expect(Object.keys(r.backends).sort()).toEqual(['a1', 'b1']);
    // The answers come from the address the client connected to.
    expect(new Set(r.results.map((x) => x.peerAddr))).toEqual(new Set([addr]));
  }

  /** Nothing balances it: node A's own stack answers, with a reset. */
  async function expectRefused(addr: string): Promise<void> {
    const r = await runClient(client, { mode: 'tcp', addr, port: NODE_PORT, count: REFUSED, timeoutMs: 1000 });
    expect({ addr, errors: r.errors }).toEqual({ addr, errors: { ECONNREFUSED: REFUSED } });
  }

  /** Adds the addresses and waits for them in the edge map; returns how long that took. */
  async function addAndWaitServed(): Promise<number> {
    const since = Date.now();
    addExtra();
    return edgeNodePortsUntil('the new addresses served', (fes) => fes.has(nodePort(EXTRA.ipv4)) && fes.has(nodePort(EXTRA.ipv6)), since);
  }

  test('default (all): an address added to the device is served within seconds, on both LBs, and no longer once removed', async () => {
    await startNodeA([]);
    // Every address of node A but loopback and link-local: its own, and its pod gateway's.
    const own = sorted([nodeA.ipv4, nodeA.ipv6, nodeA.podGateway.ipv4, nodeA.podGateway.ipv6].map(nodePort));
    expect(sorted(edgeNodePorts())).toEqual(own);

    const added = await addAndWaitServed();
    figures.push(`default: served ${added} ms after ip addr add`);
    const withExtra = sorted([...own, nodePort(EXTRA.ipv4), nodePort(EXTRA.ipv6)]);
    // Loopback too for the node's own processes (localhost NodePorts), never at the edge.
    const loopback = [nodePort('127.0.0.1'), nodePort('::1')];
    expect(listedNodePorts()).toEqual({ socket: sorted([...withExtra, ...loopback]), edge: withExtra });
    await expectServed(EXTRA.ipv4);
    await expectServed(EXTRA.ipv6);
    // The client's ports that reached the new address now reach the node's own.
    await expectServed(nodeA.ipv4);

    const since = Date.now();
    removeExtra();
    const removed = await edgeNodePortsUntil('the removed addresses gone', (fes) => !fes.has(nodePort(EXTRA.ipv4)) && !fes.has(nodePort(EXTRA.ipv6)), since);
    figures.push(`default: gone ${removed} ms after ip addr del`);
    expect(listedNodePorts()).toEqual({ socket: sorted([...own, ...loopback]), edge: own });
    // The agent says what came and went (its log may reach us after the maps changed).
    for (const change of ['added', 'removed']) {
      const line = new RegExp(`interfaces: 198\\.18\\.0\\.77 ${change}, fd00:198:18::77 ${change}$`);
      await agentA!.process.waitForLine(String(line), (l) => line.test(l), CHANGE_WITHIN_MS);
    }
  });

  test('--nodeport-addresses covering the new address: it is served, and the node address outside the CIDR refused; IPv6, without a CIDR, on all its addresses', async () => {
    await startNodeA(['--nodeport-addresses', '198.18.0.64/26']);
    await expectRefused(nodeA.ipv4);
    const added = await addAndWaitServed();
    figures.push(`--nodeport-addresses 198.18.0.64/26: served ${added} ms after ip addr add`);
    await expectServed(EXTRA.ipv4);
    await expectServed(EXTRA.ipv6);
    await expectServed(nodeA.ipv6);
    const fes = edgeNodePorts();
    expect([fes.has(nodePort(nodeA.ipv4)), fes.has(nodePort(nodeA.ipv6))]).toEqual([false, true]);
  });

  test('--nodeport-addresses excluding the new address: the agent sees it and does not serve it; the node addresses inside stay served', async () => {
    await startNodeA(['--nodeport-addresses', '198.18.0.0/26,fd00:198:18::/123']);
    addExtra();
    await agentSaw(/interfaces: 198\.18\.0\.77 added/);
    const inside = sorted([nodePort(nodeA.ipv4), nodePort(nodeA.ipv6)]);
    expect(sorted(edgeNodePorts())).toEqual(inside);
    expect(listedNodePorts()).toEqual({ socket: inside, edge: inside });
    await expectRefused(EXTRA.ipv4);
    await expectRefused(EXTRA.ipv6);
    await expectServed(nodeA.ipv4);
  });

  test("--nodeport-addresses primary: the Node's own addresses only, not the added ones nor the pod gateway's", async () => {
    await startNodeA(['--nodeport-addresses', 'primary']);
    addExtra();
    await agentSaw(/interfaces: 198\.18\.0\.77 added/);
    expect(sorted(edgeNodePorts())).toEqual(sorted([nodePort(nodeA.ipv4), nodePort(nodeA.ipv6)]));
    await expectRefused(EXTRA.ipv4);
    await expectServed(nodeA.ipv6);
  });
});
