// hostPort with real traffic (lib/model/host_ports.ts): a pod's container
// port published on node A's addresses, without the CNI's portmap, reached
// by every kind of client, both families: from outside the node (the edge
// LB), from the node itself (the socket LB), from another node's pod (routed
// to node A, the edge LB again) and from a pod of node A that no socket hook
// translates (the per-packet path). Pods a1 (older) and a2 claim the same
// TCP port: a1 keeps it, the agent reports a2; a1 gone, a2 gets it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { Place, runClient } from '../helpers/client_runner';
import { createEdgeTopology, EdgeNode, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { nodeManifest, podManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { EchoServer, startEchoServer } from '../helpers/servers';

jest.setTimeout(240_000);

const TARGET = 8080;
const UDP_TARGET = 5353;
const HOST_TCP = 18080;
const HOST_UDP = 15353;
const FLOWS = 2000;
const FAMILIES = ['ipv4', 'ipv6'] as const;

describe('hostPort: a pod port on the node, for clients outside, the node, other nodes\' pods and its own', () => {
  let topo: EdgeTopology;
  let nodeA: EdgeNode;
  let manifests: string;
  let outside: TestCgroup;
  const servers: EchoServer[] = [];
  const agents: EdgeNodeAgent[] = [];

  /** a1 (older) publishes TCP and UDP, a2 the same TCP port; with a1 gone only a2. */
  function writePods(withA1: boolean): void {
    const [a1, a2] = nodeA.pods;
    const ports = (tcp: boolean, udp: boolean) => [
      ...(tcp ? [{ containerPort: TARGET, hostPort: HOST_TCP, protocol: 'TCP' }] : []),
      ...(udp ? [{ containerPort: UDP_TARGET, hostPort: HOST_UDP, protocol: 'UDP' }] : []),
    ];
    const docs = [
      ...(withA1 ? [podManifest({ namespace: 'hp', name: 'a1', node: nodeA.name, ips: [a1.ipv4, a1.ipv6], created: '2026-01-01T00:00:00Z', hostPorts: ports(true, true) })] : []),
      podManifest({ namespace: 'hp', name: 'a2', node: nodeA.name, ips: [a2.ipv4, a2.ipv6], created: '2026-02-01T00:00:00Z', hostPorts: ports(true, false) }),
    ];
    writeManifest(manifests, 'pods.yaml', docs.join('---\n'));
  }

  async function expectOnly(place: Place, family: 'ipv4' | 'ipv6', backend: string, count: number): Promise<void> {
    const addr = nodeA[family];
    const tcp = await runClient(place, { mode: 'tcp', addr, port: HOST_TCP, count, deadlineMs: 120_000 });
    expect({ errors: tcp.errors, backends: tcp.backends }).toEqual({ errors: {}, backends: { [backend]: count } });
  }

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('hp', 2);
    nodeA = topo.nodes[0];
    for (const n of topo.nodes) for (const p of n.pods) servers.push(await startEchoServer(p.ns, p.name, { tcp: [TARGET], udp: [UDP_TARGET] }));
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-hp-'));
    outside = createTestCgroup('hp-outside');
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    writePods(true);
    agents.push(await startEdgeNodeAgent(nodeA, manifests, ['--bpf-lb-pod-interfaces', 'auto']));
    agents.push(await startEdgeNodeAgent(topo.nodes[1], manifests));
  });

  afterAll(() => tearDownEdgeTest({ agents, servers, topo, clientCgroup: outside, dirs: [manifests] }));

  test('the contested port is a1\'s, and a2 is reported', async () => {
    await agents[0].process.waitForLine('the conflict', (l) => /Pod hp\/a2: port "18080\/TCP": frontend 198\.18\.0\.2:18080\/TCP is already served by Pod hp\/a1; skipped/.test(l), 10_000);
  });

  test.each(FAMILIES)(`%s: from outside the node, ${FLOWS} TCP connections and ${FLOWS} UDP flows reach a1, every UDP answer from the node's address`, async (family) => {
    const client = { cgroup: outside.path, ns: topo.client.ns };
    await expectOnly(client, family, 'a1', FLOWS);
    const addr = nodeA[family];
    const udp = await runClient(client, { mode: 'udp-new-socket', addr, port: HOST_UDP, count: FLOWS, timeoutMs: 1000, deadlineMs: 120_000 });
    expect({ errors: udp.errors, backends: udp.backends }).toEqual({ errors: {}, backends: { a1: FLOWS } });
    expect(new Set(udp.results.map((x) => `${x.fromAddr}|${x.fromPort}`))).toEqual(new Set([`${addr}|${HOST_UDP}`]));
  });

  test.each(FAMILIES)('%s: from node A itself (the socket LB)', (family) => expectOnly({ cgroup: agents[0].cgroup.path, ns: nodeA.ns }, family, 'a1', 500));

  test.each(FAMILIES)('%s: from a pod of node B (node A\'s edge LB)', (family) => expectOnly({ cgroup: outside.path, ns: topo.nodes[1].pods[0].ns }, family, 'a1', 500));

  test.each(FAMILIES)('%s: from a pod of node A that no socket hook translates (the per-packet path)', (family) => expectOnly({ cgroup: outside.path, ns: nodeA.pods[1].ns }, family, 'a1', 500));

  test('a1 gone: the port is a2\'s', async () => {
    writePods(false);
    for (const family of FAMILIES) {
      const client = { cgroup: outside.path, ns: topo.client.ns };
      // Until the agent has read the change (a second at most), connections still go to a1.
      for (let i = 0; i < 50; i++) {
        const r = await runClient(client, { mode: 'tcp', addr: nodeA[family], port: HOST_TCP, count: 1, deadlineMs: 10_000 });
        if (r.backends.a2 === 1) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      await expectOnly(client, family, 'a2', 500);
    }
  });
});
