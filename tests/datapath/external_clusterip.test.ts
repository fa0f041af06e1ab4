// ClusterIPs for clients outside the node (--bpf-lb-external-clusterip) with
// real traffic: the outside client routes two services' ClusterIPs, one
// through node A, whose agent has the flag, and one through node B, whose
// agent has not (tests/helpers/edge_topology.ts). Node A's XDP balances the
// first to the backends on both nodes (a local one, the other by snat, or by
// DSR for the annotated service), both families, TCP and UDP; node B leaves
// the second to its stack, which has no route for it, so nothing answers.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { Place, runClient } from '../helpers/client_runner';
import { createEdgeTopology, EdgeNode, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { ip } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';

jest.setTimeout(180_000);

const TARGET = 8080;
const UDP_TARGET = 5353;
/** Connections (TCP) and datagrams each from a socket of its own (UDP) per service and family. */
const FLOWS = 2000;
const FAMILIES = ['ipv4', 'ipv6'] as const;

interface RoutedService {
  name: string;
  clusterIPs: { ipv4: string; ipv6: string };
  mode?: 'dsr';
}

const SNAT: RoutedService = { name: 'routed-snat', clusterIPs: { ipv4: '198.19.9.50', ipv6: 'fd00:198:18:1::9:50' } };
const DSR: RoutedService = { name: 'routed-dsr', clusterIPs: { ipv4: '198.19.9.51', ipv6: 'fd00:198:18:1::9:51' }, mode: 'dsr' };
/** Routed through node B, whose agent does not serve ClusterIPs from outside. */
const UNSERVED: RoutedService = { name: 'unserved', clusterIPs: { ipv4: '198.19.9.52', ipv6: 'fd00:198:18:1::9:52' } };

describe('ClusterIPs for routed clients: served by the edge LB where enabled, not elsewhere', () => {
  let topo: EdgeTopology;
  let nodeA: EdgeNode;
  let nodeB: EdgeNode;
  let manifests: string;
  let clientCgroup: TestCgroup;
  let client: Place;
  const servers: EchoServer[] = [];
  const agents: EdgeNodeAgent[] = [];

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('rcip', 1);
    [nodeA, nodeB] = topo.nodes;
    for (const n of topo.nodes) for (const p of n.pods) servers.push(await startEchoServer(p.ns, p.name, { tcp: [TARGET], udp: [UDP_TARGET] }));
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-rcip-'));
    clientCgroup = createTestCgroup('rcip-client');
    client = { cgroup: clientCgroup.path, ns: topo.client.ns };
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    const pods = topo.nodes.flatMap((n) => n.pods.map((p) => ({ ...p, node: n.name })));
    for (const s of [SNAT, DSR, UNSERVED]) {
      const manifest = serviceManifest({
        namespace: 'rcip',
        name: s.name,
        clusterIPs: [s.clusterIPs.ipv4, s.clusterIPs.ipv6],
        ports: [
          { name: 'http', port: 80, targetPort: TARGET, protocol: 'TCP' },
          { name: 'dns', port: 53, targetPort: UDP_TARGET, protocol: 'UDP' },
        ],
        endpoints: pods.flatMap((p) => [p.ipv4, p.ipv6].map((addr) => ({ addr, node: p.node }))),
        annotations: s.mode ? { 'service.cilium.io/forwarding-mode': s.mode } : undefined,
      });
      writeManifest(manifests, `${s.name}.yaml`, manifest);
    }
    for (const s of [SNAT, DSR]) for (const f of FAMILIES) ip('-n', topo.client.ns, 'route', 'add', s.clusterIPs[f], 'via', nodeA[f]);
    for (const f of FAMILIES) ip('-n', topo.client.ns, 'route', 'add', UNSERVED.clusterIPs[f], 'via', nodeB[f]);
    agents.push(await startEdgeNodeAgent(nodeA, manifests, ['--bpf-lb-external-clusterip', 'true']));
    agents.push(await startEdgeNodeAgent(nodeB, manifests));
  });

  afterAll(() => tearDownEdgeTest({ agents, servers, topo, clientCgroup, dirs: [manifests] }));

  test.each([SNAT, DSR].flatMap((s) => FAMILIES.map((f) => [s.name, f] as const)))(
    `%s %s: ${FLOWS} TCP connections and ${FLOWS} UDP flows through node A reach the pods of both nodes`,
    async (name, family) => {
      const s = [SNAT, DSR].find((x) => x.name === name)!;
      const addr = s.clusterIPs[family];
      const tcp = await runClient(client, { mode: 'tcp', addr, port: 80, count: FLOWS, deadlineMs: 120_000 });
      const udp = await runClient(client, { mode: 'udp-new-socket', addr, port: 53, count: FLOWS, timeoutMs: 1000, deadlineMs: 120_000 });
      for (const r of [tcp, udp]) {
        expect(r.errors).toEqual({});
        expect(Object.keys(r.backends).sort()).toEqual(['a1', 'b1']);
        expect(r.backends.a1 + r.backends.b1).toBe(FLOWS);
      }
      // Every datagram's answer comes from the ClusterIP the client asked (a TCP
      // connection with any other peer would not have been established).
      expect(new Set(udp.results.map((x) => `${x.fromAddr}|${x.fromPort}`))).toEqual(new Set([`${addr}|53`]));
    },
  );

  test('a node without the flag leaves a routed ClusterIP to its stack: nothing answers', async () => {
    for (const f of FAMILIES) {
      const r = await runClient(client, { mode: 'tcp', addr: UNSERVED.clusterIPs[f], port: 80, count: 5, timeoutMs: 500, deadlineMs: 30_000 });
      expect(r.backends).toEqual({});
      expect(Object.values(r.errors).reduce((a, b) => a + b, 0)).toBe(5);
    }
  });
});
