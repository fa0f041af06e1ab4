// IP fragments through the edge LB with real traffic: an outside client on a
// 1500-byte link sends UDP datagrams of 4000 bytes, and asks for answers of
// 4000 bytes, to UDP LoadBalancer IPs and NodePorts of node A whose backend
// is on node A (local) or on node B (DSR, snat), IPv4 and IPv6
// (tests/helpers/edge_topology.ts). Every datagram leaves the client's stack
// or the pod's in fragments; each must be answered, the backend must have
// received it whole (it reports the bytes it got) and the client the whole
// answer, from the frontend's address and port, never the pod's.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadAddon } from '../../lib/datapath/native';
import { EDGE_DROP_REASONS } from '../../lib/datapath/reasons';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { ClientReport } from '../helpers/client_report';
import { Place, runClient } from '../helpers/client_runner';
import { createEdgeTopology, EdgeNode, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';

jest.setTimeout(120_000);

const UDP_TARGET = 5353;
const SERVICE_PORT = 53;
/** UDP payloads: the big one takes three IPv4 (or IPv6) fragments on a 1500-byte link. */
const BIG = 4000;
const SMALL = 100;
/** Datagrams per frontend and direction, from one socket; the long run sends thousands, each from a socket of its own. */
const COUNT = 300;
const LONG_COUNT = 5000;
/** Node A's fragment map holds fewer datagrams than a run sends: its entries must be recycled. */
const FRAGMENTS_MAP_MAX = 256;
/** The nodes' side of the segment has room for DSR's tunnel header around the client's 1500-byte packets. */
const NODE_MTU = 1600;

interface FragService {
  name: string;
  lbIps: { ipv4: string; ipv6: string };
  nodePort: number;
  pod: string;
  mode?: 'dsr' | 'snat';
}

/** A backend on node A, and one on node B reached by each forwarding mode. */
const SERVICES: FragService[] = [
  { name: 'frag-local', lbIps: { ipv4: '198.18.100.21', ipv6: 'fd00:198:18:100::21' }, nodePort: 30021, pod: 'a1' },
  { name: 'frag-dsr', lbIps: { ipv4: '198.18.100.22', ipv6: 'fd00:198:18:100::22' }, nodePort: 30022, pod: 'b1', mode: 'dsr' },
  { name: 'frag-snat', lbIps: { ipv4: '198.18.100.23', ipv6: 'fd00:198:18:100::23' }, nodePort: 30023, pod: 'b1', mode: 'snat' },
];
const FAMILIES = ['ipv4', 'ipv6'] as const;

interface Frontend {
  label: string;
  service: FragService;
  addr: string;
  port: number;
}

describe('edge LB: IP fragments with real traffic, both ways, every path, both families', () => {
  let topo: EdgeTopology;
  let nodeA: EdgeNode;
  let manifests: string;
  let clientCgroup: TestCgroup;
  let client: Place;
  const servers: EchoServer[] = [];
  const agents: EdgeNodeAgent[] = [];

  /** The LB IP and node A's NodePort of every service, in both families. */
  const frontends = (): Frontend[] =>
    SERVICES.flatMap((service) =>
      FAMILIES.flatMap((family) => [
        { label: `${service.name} LB IP ${family}`, service, addr: service.lbIps[family], port: SERVICE_PORT },
        { label: `${service.name} NodePort ${family}`, service, addr: nodeA[family], port: service.nodePort },
      ]),
    );

  /** count exchanges of requestBytes asking for answerBytes, every one answered whole from the frontend:
   *  from one socket (udp), or each from a socket, and so a flow, of its own (udp-new-socket). */
  async function expectWhole(mode: 'udp' | 'udp-new-socket', fe: Frontend, count: number, requestBytes: number, answerBytes: number): Promise<ClientReport> {
    const r = await runClient(client, { mode, addr: fe.addr, port: fe.port, count, requestBytes, answerBytes, timeoutMs: 1000, deadlineMs: 60_000 });
    expect(r.errors).toEqual({});
    expect(r.backends).toEqual({ [fe.service.pod]: count });
    const seen = new Set(r.results.map((x) => JSON.stringify([x.backendReceived, x.answerBytes, x.fromAddr, x.fromPort])));
    expect([...seen]).toEqual([JSON.stringify([requestBytes, answerBytes, fe.addr, fe.port])]);
    return r;
  }

  /** Later fragments each node dropped for want of their first (frag_not_found). */
  const lostFragments = () =>
    agents.map((a) => {
      const maps = loadAddon().openPinnedEdgeMaps(path.join(a.root.path, 'kpr', 'maps'));
      try {
        return maps.readDrops()[EDGE_DROP_REASONS.indexOf('frag_not_found')];
      } finally {
        maps.close();
      }
    });

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('frag', 1, { nodeMtu: NODE_MTU });
    nodeA = topo.nodes[0];
    for (const n of topo.nodes) for (const p of n.pods) servers.push(await startEchoServer(p.ns, p.name, { udp: [UDP_TARGET] }));
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-frag-'));
    clientCgroup = createTestCgroup('frag-client');
    client = { cgroup: clientCgroup.path, ns: topo.client.ns };
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    const pods = topo.nodes.flatMap((n) => n.pods.map((p) => ({ ...p, node: n.name })));
    SERVICES.forEach((s, i) => {
      const pod = pods.find((p) => p.name === s.pod)!;
      const manifest = serviceManifest({
        namespace: 'frag',
        name: s.name,
        clusterIPs: [`198.19.8.${10 + i}`, `fd00:198:18:1::8:${10 + i}`],
        ports: [{ name: 'dns', port: SERVICE_PORT, targetPort: UDP_TARGET, protocol: 'UDP', nodePort: s.nodePort }],
        endpoints: [pod.ipv4, pod.ipv6].map((addr) => ({ addr, node: pod.node })),
        extraSpec: { type: 'LoadBalancer' },
        status: { loadBalancer: { ingress: [{ ip: s.lbIps.ipv4 }, { ip: s.lbIps.ipv6 }] } },
        annotations: s.mode ? { 'service.cilium.io/forwarding-mode': s.mode } : undefined,
      });
      writeManifest(manifests, `${s.name}.yaml`, manifest);
    });
    agents.push(await startEdgeNodeAgent(nodeA, manifests, ['--bpf-fragments-map-max', String(FRAGMENTS_MAP_MAX)]));
    agents.push(await startEdgeNodeAgent(topo.nodes[1], manifests));
  });

  afterAll(() => tearDownEdgeTest({ agents, servers, topo, clientCgroup, dirs: [manifests] }));

  test('node A sizes its fragment map from --bpf-fragments-map-max', () => {
    const map = JSON.parse(run('bpftool', ['-j', 'map', 'show', 'pinned', path.join(agents[0].root.path, 'kpr', 'maps', 'kpr_edge_fragments')])) as { type: string; max_entries: number };
    expect(map).toMatchObject({ type: 'lru_hash', max_entries: FRAGMENTS_MAP_MAX });
  });

  test.each(SERVICES.flatMap((s) => FAMILIES.map((f) => [s.name, f] as const)))(
    '%s %s: 4000-byte datagrams to the LB IP and the NodePort arrive whole; 4000-byte answers come back whole from the frontend',
    async (name, family) => {
      const before = lostFragments();
      for (const fe of frontends().filter((x) => x.service.name === name && x.addr.includes(':') === (family === 'ipv6'))) {
        await expectWhole('udp', fe, COUNT, BIG, SMALL);
        await expectWhole('udp', fe, COUNT, SMALL, BIG);
      }
      expect(lostFragments()).toEqual(before);
    },
  );

  test(`thousands of flows through every path and family, each a datagram in fragments both ways, through a fragment map of ${FRAGMENTS_MAP_MAX}; none lost its first fragment`, async () => {
    const before = lostFragments();
    for (const fe of frontends().filter((x) => x.port === SERVICE_PORT)) await expectWhole('udp-new-socket', fe, LONG_COUNT, BIG, BIG);
    expect(lostFragments()).toEqual(before);
  });
});
