// Localhost NodePorts (kube-proxy's iptables.localhostNodePorts) with real
// traffic: the node's own processes reach a NodePort on 127.0.0.1 and ::1,
// backends on this node and the other, over TCP and UDP (replies seen from
// the loopback address asked), and ClientIP affinity holds them to one
// backend. In a pod's namespace loopback is the pod's own: a pod that
// connects to 127.0.0.1:<nodePort> reaches its own listener, although the
// socket LB's hooks see it. Node B runs with --iptables-localhost-nodeports
// false and serves nothing on loopback. Backends: a3, b2, b3.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { Place, runClient } from '../helpers/client_runner';
import { ClientReport } from '../helpers/client_report';
import { createEdgeTopology, EdgeHost, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { EchoServer, startEchoServer } from '../helpers/servers';

jest.setTimeout(300_000);

const TARGET = 8080;
const UDP_TARGET = 5353;
const NODE_PORT = 30080;
const AFFINITY_NODE_PORT = 30081;
const LOOPBACK = { ipv4: '127.0.0.1', ipv6: '::1' };
const FAMILIES = ['ipv4', 'ipv6'] as const;
const BACKENDS = ['a3', 'b2', 'b3'];
/** Flows per family and protocol through the plain service. */
const FLOWS = 5000;
const AFFINITY_FLOWS = 1000;

describe('localhost NodePorts: the node reaches NodePorts on 127.0.0.1 and ::1, pods keep their own loopback', () => {
  let topo: EdgeTopology;
  let manifests: string;
  const servers: EchoServer[] = [];
  const agents: EdgeNodeAgent[] = [];
  const pod = (name: string): EdgeHost => topo.nodes.flatMap((n) => n.pods).find((p) => p.name === name)!;
  const onNode = (i: number): Place => ({ cgroup: agents[i].cgroup.path, ns: topo.nodes[i].ns });
  const inPod = (name: string): Place => ({ cgroup: agents[0].cgroup.path, ns: pod(name).ns });
  const total = (r: ClientReport) => Object.values(r.backends).reduce((a, b) => a + b, 0);

  function service(name: string, nodePort: number, extraSpec: Record<string, unknown> = {}): string {
    return serviceManifest({
      namespace: 'apps',
      name,
      clusterIPs: name === 'web' ? ['198.19.9.80', 'fd00:198:18:1::9:80'] : ['198.19.9.81', 'fd00:198:18:1::9:81'],
      ports: [
        { name: 'http', port: 80, targetPort: TARGET, protocol: 'TCP', nodePort },
        { name: 'dns', port: 53, targetPort: UDP_TARGET, protocol: 'UDP', nodePort },
      ],
      endpoints: topo.nodes.flatMap((n) => n.pods.filter((p) => BACKENDS.includes(p.name)).flatMap((p) => [p.ipv4, p.ipv6].map((addr) => ({ addr, node: n.name })))),
      extraSpec: { type: 'NodePort', ...extraSpec },
    });
  }

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('lhnp', 3);
    for (const n of topo.nodes) for (const p of n.pods) servers.push(await startEchoServer(p.ns, p.name, { tcp: [TARGET], udp: [UDP_TARGET] }));
    // Pod a1's own listener on the NodePort's number, on its own loopback among its addresses.
    servers.push(await startEchoServer(pod('a1').ns, 'a1-own', { tcp: [NODE_PORT], udp: [NODE_PORT] }));
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-lhnp-'));
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    writeManifest(manifests, 'web.yaml', service('web', NODE_PORT));
    writeManifest(manifests, 'sticky.yaml', service('sticky', AFFINITY_NODE_PORT, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } }));
    agents.push(await startEdgeNodeAgent(topo.nodes[0], manifests));
    agents.push(await startEdgeNodeAgent(topo.nodes[1], manifests, ['--iptables-localhost-nodeports', 'false']));
  });

  afterAll(async () => {
    await tearDownEdgeTest({ agents, servers, topo, dirs: [manifests] });
  });

  test.each(FAMILIES)(`%s: ${FLOWS} TCP connections from the node to the loopback NodePort spread over the backends of both nodes`, async (family) => {
    const r = await runClient(onNode(0), { mode: 'tcp', addr: LOOPBACK[family], port: NODE_PORT, count: FLOWS, deadlineMs: 120_000 });
    expect(r.errors).toEqual({});
    expect(Object.keys(r.backends).sort()).toEqual(BACKENDS);
    expect(total(r)).toBe(FLOWS);
  });

  test.each(FAMILIES)(`%s: ${FLOWS} UDP flows, answered from the loopback address and NodePort asked`, async (family) => {
    const addr = LOOPBACK[family];
    for (const mode of ['udp-new-socket', 'udp-connected-new-socket'] as const) {
      const r = await runClient(onNode(0), { mode, addr, port: NODE_PORT, count: FLOWS, timeoutMs: 1000, deadlineMs: 120_000 });
      expect(r.errors).toEqual({});
      expect(Object.keys(r.backends).sort()).toEqual(BACKENDS);
      expect(new Set(r.results.map((x) => `${x.fromAddr}|${x.fromPort}`))).toEqual(new Set([`${addr}|${NODE_PORT}`]));
    }
  });

  test.each(FAMILIES)(`%s: sessionAffinity ClientIP holds ${AFFINITY_FLOWS} connections from the node to one backend`, async (family) => {
    const r = await runClient(onNode(0), { mode: 'tcp', addr: LOOPBACK[family], port: AFFINITY_NODE_PORT, count: AFFINITY_FLOWS, deadlineMs: 120_000 });
    expect(r.errors).toEqual({});
    expect(Object.keys(r.backends)).toHaveLength(1);
    expect(BACKENDS).toContain(Object.keys(r.backends)[0]);
    expect(total(r)).toBe(AFFINITY_FLOWS);
  });

  test.each(FAMILIES)('%s: a pod connecting to loopback on the NodePort number reaches its own listener, over TCP and UDP', async (family) => {
    const addr = LOOPBACK[family];
    expect((await runClient(inPod('a1'), { mode: 'tcp', addr, port: NODE_PORT, count: 1000, deadlineMs: 60_000 })).backends).toEqual({ 'a1-own': 1000 });
    expect((await runClient(inPod('a1'), { mode: 'udp-new-socket', addr, port: NODE_PORT, count: 1000, timeoutMs: 1000, deadlineMs: 60_000 })).backends).toEqual({ 'a1-own': 1000 });
  });

  test.each(FAMILIES)('%s: node B, localhost NodePorts off: loopback is refused, its node address still served', async (family) => {
    expect((await runClient(onNode(1), { mode: 'tcp', addr: LOOPBACK[family], port: NODE_PORT, count: 20, deadlineMs: 30_000 })).errors).toEqual({ ECONNREFUSED: 20 });
    const served = await runClient(onNode(1), { mode: 'tcp', addr: topo.nodes[1][family], port: NODE_PORT, count: 300, deadlineMs: 60_000 });
    expect(served.errors).toEqual({});
    expect(Object.keys(served.backends).sort()).toEqual(BACKENDS);
  });
});
