// ICMP errors and path MTU on the per-packet path, with real traffic: the
// errors a pod's connection through a ClusterIP meets quote the packet as
// it left the node, addressed to the backend; the pod's socket knows only
// the ClusterIP. The pod's interface's egress (kpr_tc_dsr_egress, as at the
// edge) turns the quote back, so the socket gets the error. Each node's hop
// towards its pods has a 1400-byte route MTU (edge_topology.ts podPathMtu),
// the pods' own links 1500: pod a1's uploads to the backends on node B meet
// node B's hop, which answers with fragmentation needed / packet too big.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { Place, runClient } from '../helpers/client_runner';
import { cachedMtu, createEdgeTopology, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';

jest.setTimeout(300_000);

const TARGET = 8080;
const CLOSED = 9999;
const HOP_MTU = 1400;
const MIB = 1 << 20;
const FAMILIES = ['ipv4', 'ipv6'] as const;
const CLUSTER_IPS = { ipv4: '198.19.9.80', ipv6: 'fd00:198:18:1::9:80' };

describe('per-packet path: ICMP errors reach the pod\'s socket, path MTU is learned through the ClusterIP', () => {
  let topo: EdgeTopology;
  let manifests: string;
  let cgroup: TestCgroup;
  let a1: Place;
  const servers: EchoServer[] = [];
  const agents: EdgeNodeAgent[] = [];

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('ppicmp', 1, { podPathMtu: HOP_MTU });
    for (const n of topo.nodes) for (const p of n.pods) servers.push(await startEchoServer(p.ns, p.name, { tcp: [TARGET] }));
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-ppicmp-'));
    cgroup = createTestCgroup('ppicmp-client');
    a1 = { cgroup: cgroup.path, ns: topo.nodes[0].pods[0].ns };
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    const b1 = topo.nodes[1].pods[0];
    // The backend's kernel answers every datagram, not the few a second it allows by default.
    run('ip', ['netns', 'exec', b1.ns, 'sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0', 'net.ipv4.icmp_msgs_per_sec=100000', 'net.ipv4.icmp_msgs_burst=100000']);
    writeManifest(
      manifests,
      'svc.yaml',
      serviceManifest({
        namespace: 'ppicmp',
        name: 'remote',
        clusterIPs: [CLUSTER_IPS.ipv4, CLUSTER_IPS.ipv6],
        ports: [
          { name: 'http', port: 80, targetPort: TARGET, protocol: 'TCP' },
          { name: 'closed', port: 53, targetPort: CLOSED, protocol: 'UDP' },
        ],
        endpoints: [b1.ipv4, b1.ipv6].map((addr) => ({ addr, node: topo.nodes[1].name })),
      }),
    );
    agents.push(await startEdgeNodeAgent(topo.nodes[0], manifests, ['--bpf-lb-pod-interfaces', 'auto']));
    agents.push(await startEdgeNodeAgent(topo.nodes[1], manifests));
  });

  afterAll(() => tearDownEdgeTest({ agents, servers, topo, clientCgroup: cgroup, dirs: [manifests] }));

  test.each(FAMILIES)('%s: UDP to a closed backend port: each of 200 connected sockets is refused at once', async (family) => {
    const r = await runClient(a1, { mode: 'udp-connected-new-socket', addr: CLUSTER_IPS[family], port: 53, count: 200, timeoutMs: 2000, deadlineMs: 120_000 });
    expect({ backends: r.backends, errors: r.errors }).toEqual({ backends: {}, errors: { ECONNREFUSED: 200 } });
    expect(Math.max(...r.results.map((x) => x.ms))).toBeLessThan(1000);
  });

  test.each(FAMILIES)(`%s: 20 uploads and 20 downloads of 1 MiB through the ClusterIP complete over the ${HOP_MTU}-byte hop, and the pod learned its MTU`, async (family) => {
    const addr = CLUSTER_IPS[family];
    for (const dir of [{ upload: MIB }, { download: MIB }]) {
      const r = await runClient(a1, { mode: 'transfer', addr, port: 80, count: 20, ...dir, timeoutMs: 20_000, deadlineMs: 180_000 });
      expect({ backends: r.backends, errors: r.errors }).toEqual({ backends: { b1: 20 }, errors: {} });
    }
    expect(cachedMtu(topo.nodes[0].pods[0], addr)).toBe(HOP_MTU);
  });
});
