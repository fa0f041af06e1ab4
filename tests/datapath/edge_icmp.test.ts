// ICMP errors and path MTU discovery through the edge LB, with real traffic
// through the two-node topology (tests/helpers/edge_topology.ts): each node
// runs the agent (standalone, dsr by default) with one dual-stack service per
// path from node A: a backend on node A ("local"), one on node B reached by
// DSR, and one on node B reached in snat mode. Each service has a TCP port
// on the pods' echo servers and a UDP port nothing listens on. The client
// uses the services' LB IPs and node A's NodePorts.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pinPaths } from '../../lib/host/bpffs';
import { loadAddon } from '../../lib/datapath/native';
import { EDGE_DROP_REASONS } from '../../lib/datapath/reasons';
import { startAgent } from '../helpers/agent';
import { BpfRoot, createBpfRoot } from '../helpers/bpf_root';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { ClientReport } from '../helpers/client_report';
import { ClientRequest, Place, runClient } from '../helpers/client_runner';
import { cachedMtu, createEdgeTopology, EdgeTopology, EdgeTopologyOptions } from '../helpers/edge_topology';
import { LineProcess } from '../helpers/line_process';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';

jest.setTimeout(600_000);

const TARGET = 8080;
/** The services' UDP port leads here, where no pod listens. */
const CLOSED = 5999;
const MIB = 1024 * 1024;
/** Clients' source ports: below the kernel's ephemeral range and kpr's snat ports. */
const FIRST_SOURCE_PORT = 10000;
const PORTS_PER_TARGET = 100;

type Family = 'ipv4' | 'ipv6';
const FAMILIES: Family[] = ['ipv4', 'ipv6'];

/** One service per path from node A, each with a TCP and a UDP NodePort. */
const PATHS = [
  { path: 'local', pod: 'a1', lb: { ipv4: '198.18.100.20', ipv6: 'fd00:198:18:100::20' }, tcpNodePort: 30120, udpNodePort: 30220 },
  { path: 'snat', pod: 'b1', lb: { ipv4: '198.18.100.21', ipv6: 'fd00:198:18:100::21' }, tcpNodePort: 30121, udpNodePort: 30221 },
  { path: 'dsr', pod: 'b1', lb: { ipv4: '198.18.100.22', ipv6: 'fd00:198:18:100::22' }, tcpNodePort: 30122, udpNodePort: 30222 },
] as const;
type PathName = (typeof PATHS)[number]['path'];

/** The two nodes with their agents, pods and echo servers, and the client. */
interface Cluster {
  topo: EdgeTopology;
  client: Place;
  nodeARoot: string;
  stop(): Promise<void>;
}

async function startCluster(prefix: string, opts: EdgeTopologyOptions): Promise<Cluster> {
  const topo = createEdgeTopology(prefix, 1, opts);
  const servers: EchoServer[] = [];
  const agents: LineProcess[] = [];
  const owned: { destroy(): void }[] = [];
  const manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-icmp-'));
  const stop = async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await Promise.all(servers.map((s) => s.stop()));
    topo.destroy();
    for (const x of owned) x.destroy();
    fs.rmSync(manifests, { recursive: true, force: true });
  };
  try {
    const pods = topo.nodes.flatMap((n) => n.pods.map((p) => ({ ...p, node: n.name })));
    for (const p of pods) {
      // Every closed-port probe is answered: no per-destination ICMP rate limit in the pods.
      run('ip', ['netns', 'exec', p.ns, 'sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0', 'net.ipv4.icmp_msgs_per_sec=100000', 'net.ipv4.icmp_msgs_burst=10000']);
      servers.push(await startEchoServer(p.ns, p.name, { tcp: [TARGET] }));
    }
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    PATHS.forEach((s, i) => {
      const pod = pods.find((p) => p.name === s.pod)!;
      writeManifest(
        manifests,
        `${s.path}.yaml`,
        serviceManifest({
          namespace: 'icmp',
          name: s.path,
          clusterIPs: [`198.19.8.${10 + i}`, `fd00:198:18:19::${10 + i}`],
          ports: [
            { name: 'web', port: 80, targetPort: TARGET, protocol: 'TCP', nodePort: s.tcpNodePort },
            { name: 'closed', port: 53, targetPort: CLOSED, protocol: 'UDP', nodePort: s.udpNodePort },
          ],
          endpoints: FAMILIES.map((f) => ({ addr: pod[f], node: pod.node })),
          extraSpec: { type: 'LoadBalancer' },
          status: { loadBalancer: { ingress: FAMILIES.map((f) => ({ ip: s.lb[f] })) } },
          annotations: s.path === 'snat' ? { 'service.cilium.io/forwarding-mode': 'snat' } : undefined,
        }),
      );
    });
    const clientCgroup = createTestCgroup(`${prefix}-client`);
    owned.push(clientCgroup);
    let nodeARoot = '';
    for (const node of topo.nodes) {
      const root: BpfRoot = createBpfRoot(`${prefix}-${node.name}`);
      const cgroup: TestCgroup = createTestCgroup(`${prefix}-${node.name}`);
      owned.push(root, cgroup);
      nodeARoot ||= root.path;
      agents.push(
        await startAgent({ manifests, bpfRoot: root.path, cgroupRoot: cgroup.path, netns: node.ns, args: ['--hostname-override', node.name, '--devices', node.device, '--lb-mode', 'dsr'] }),
      );
    }
    return { topo, client: { cgroup: clientCgroup.path, ns: topo.client.ns }, nodeARoot, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Where a path's service is reached: its LB IP, or node A's NodePort. */
function frontends(c: Cluster, p: (typeof PATHS)[number], family: Family, proto: 'tcp' | 'udp'): { name: string; addr: string; port: number }[] {
  return [
    { name: `${p.path} LB IP ${family}`, addr: p.lb[family], port: proto === 'tcp' ? 80 : 53 },
    { name: `${p.path} NodePort ${family}`, addr: c.topo.nodes[0][family], port: proto === 'tcp' ? p.tcpNodePort : p.udpNodePort },
  ];
}

/** Runs the client at each target in turn, each from source ports of its
 *  own: the flow state of a frontend's client is keyed without the frontend
 *  (by service, or by backend), so a client port the kernel picked again for
 *  the service's other frontend would meet the first frontend's state. */
async function runEach<T extends { name: string; addr: string; port: number }>(
  c: Cluster,
  targets: T[],
  req: (t: T, i: number) => Omit<ClientRequest, 'addr' | 'port' | 'sourcePort'>,
): Promise<Record<string, ClientReport>> {
  const reports: Record<string, ClientReport> = {};
  for (const [i, t] of targets.entries()) {
    reports[t.name] = await runClient(c.client, { ...req(t, i), addr: t.addr, port: t.port, sourcePort: FIRST_SOURCE_PORT + i * PORTS_PER_TARGET });
  }
  return reports;
}

/** Answers per backend and errors of each report, by frontend name: what a test expects of all of them at once. */
const outcomes = (reports: Record<string, ClientReport>) =>
  Object.fromEntries(Object.entries(reports).map(([name, r]) => [name, { backends: r.backends, errors: r.errors }]));

const podOf = (p: PathName) => PATHS.find((x) => x.path === p)!.pod;

/** A cluster of the topology opts for the tests of the calling block. */
function clusterFor(prefix: string, opts: EdgeTopologyOptions): () => Cluster {
  let c: Cluster | undefined;
  beforeAll(async () => {
    c = await startCluster(prefix, opts);
  });
  afterAll(async () => c?.stop());
  return () => c!;
}

/** count TCP transfers (req: what the i-th target's do) through every
 *  path, family and frontend, each answered by its path's pod; the targets. */
async function transferEverywhere(c: Cluster, count: number, req: (i: number) => Pick<ClientRequest, 'upload' | 'download'>) {
  const cells = PATHS.flatMap((p) => FAMILIES.flatMap((f) => frontends(c, p, f, 'tcp').map((t) => ({ ...t, pod: p.pod }))));
  const reports = await runEach(c, cells, (_, i) => ({ mode: 'transfer', ...req(i), count, timeoutMs: 30_000, deadlineMs: 300_000 }));
  expect(outcomes(reports)).toEqual(Object.fromEntries(cells.map((t) => [t.name, { backends: { [t.pod]: count }, errors: {} }])));
  return cells;
}

describe('edge LB: ICMP errors and path MTU with real traffic', () => {
  beforeAll(() => assertPrivileged());

  describe('one segment, every MTU 1500', () => {
    const cluster = clusterFor('icmp', {});

    test('UDP to a closed backend port: each connected socket is refused at once, through local, snat and dsr, both families', async () => {
      const c = cluster();
      const COUNT = 50;
      const targets = PATHS.flatMap((p) => FAMILIES.flatMap((f) => frontends(c, p, f, 'udp')));
      const reports = await runEach(c, targets, () => ({ mode: 'udp-connected-new-socket', count: COUNT, timeoutMs: 2000 }));
      expect(outcomes(reports)).toEqual(Object.fromEntries(targets.map((t) => [t.name, { backends: {}, errors: { ECONNREFUSED: COUNT } }])));
      // At once: an answer, not the timeout (each exchange is one send and its error).
      for (const r of Object.values(reports)) expect(Math.max(...r.results.map((x) => x.ms))).toBeLessThan(1000);
    });

    test('DSR: packets too big for the tunnel are answered with the MTU less the tunnel, and uploads complete', async () => {
      const c = cluster();
      const fragNeeded = () => loadAddon().openPinnedEdgeMaps(pinPaths(c.nodeARoot).maps).readDrops()[EDGE_DROP_REASONS.indexOf('frag_needed')];
      const dsr = PATHS.find((p) => p.path === 'dsr')!;
      const targets = FAMILIES.flatMap((f) => frontends(c, dsr, f, 'tcp'));
      const reports = await runEach(c, targets, () => ({ mode: 'transfer', upload: MIB, count: 20, timeoutMs: 20_000, deadlineMs: 180_000 }));
      expect(outcomes(reports)).toEqual(Object.fromEntries(targets.map((t) => [t.name, { backends: { b1: 20 }, errors: {} }])));
      // The client learned the MTU the tunnel leaves: 1500 less 28 (IPIP and option) or 64 (IP6IP6 and option).
      expect(targets.map((t) => cachedMtu(c.topo.client, t.addr))).toEqual([1472, 1472, 1436, 1436]);
      expect(fragNeeded()).toBeGreaterThanOrEqual(targets.length);
    });
  });

  describe('a router with a 1400-byte hop before the client', () => {
    const cluster = clusterFor('icmp-hop', { clientHopMtu: 1400 });

    test('TCP downloads of 1-4 MiB through the LB IP and NodePorts complete, for local, snat and dsr, both families', async () => {
      const c = cluster();
      await transferEverywhere(c, 16, (i) => ({ download: (1 + (i % 4)) * MIB }));
      // The errors reached the backends: each learned 1400 towards whom it sends to (snat: node A).
      const pod = (name: string) => c.topo.nodes.flatMap((n) => n.pods).find((p) => p.name === name)!;
      const [nodeA] = c.topo.nodes;
      for (const f of FAMILIES) {
        expect({ local: cachedMtu(pod(podOf('local')), c.topo.client[f]), dsr: cachedMtu(pod(podOf('dsr')), c.topo.client[f]), snat: cachedMtu(pod(podOf('snat')), nodeA[f]) }).toEqual({ local: 1400, dsr: 1400, snat: 1400 });
      }
    });
  });

  describe("a 1400-byte hop between the backends' nodes and their pods", () => {
    const cluster = clusterFor('icmp-pods', { podPathMtu: 1400 });

    test('TCP transfers both ways through the LB IP and NodePorts complete, for local, snat and dsr, both families', async () => {
      const c = cluster();
      const cells = await transferEverywhere(c, 16, () => ({ upload: MIB, download: MIB }));
      // The nodes' errors about the client's packets reached it as the frontend's.
      expect(Object.fromEntries(cells.map((t) => [t.name, cachedMtu(c.topo.client, t.addr)]))).toEqual(Object.fromEntries(cells.map((t) => [t.name, 1400])));
    });
  });
});
