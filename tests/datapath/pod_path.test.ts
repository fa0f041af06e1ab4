// The per-packet path with real traffic (bpf/include/kpr_pod_path.h): a pod
// whose packets no socket hook translated (here a client outside the agent's
// cgroup, as a bypassed pod's, a VM's or a sandbox's would be) reaches
// services through its node's pod interface, which the agent found by kind
// (--bpf-lb-pod-interfaces auto). Node A runs the path, node B does not.
// The client pod a1 sends with checksum offload on (CHECKSUM_PARTIAL, as a
// pod's own stack does); the backends are a2 on its node and b1, b2 on the
// other, reached by routing alone: the path rewrites the destination, and
// the replies, through the same interface's egress, get the frontend back.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EdgeServiceRow, FlowRow } from '../../lib/cli/edge_listing';
import { repoRoot } from '../../lib/datapath/native';
import { pinPaths } from '../../lib/host/bpffs';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { Place, runClient } from '../helpers/client_runner';
import { ClientReport } from '../helpers/client_report';
import { createEdgeTopology, EdgeNode, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { edgeDrops } from '../helpers/maps';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';
import { waitFor } from '../helpers/sleep';

jest.setTimeout(300_000);

const KPR = path.join(repoRoot(), 'bin', 'kpr');
const TARGET = 8080;
const UDP_TARGET = 5353;
const NODE_PORTS = { tcp: 30600, udp: 30601 };
/** TCP connections, and UDP datagrams each from a socket of its own, per family and frontend. */
const FLOWS = 5000;
/** Datagrams of 3000 bytes each way: two fragments on the pods' 1500-byte links. */
const FRAGMENTED = { count: 500, bytes: 3000 };
const FAMILIES = ['ipv4', 'ipv6'] as const;
const CLUSTER_IPS = { ipv4: '198.19.9.60', ipv6: 'fd00:198:18:1::9:60' };
const BACKENDS = ['a2', 'b1', 'b2'];
/** The kernel's name of kpr_tc_pod_ingress (15 characters). */
const POD_INGRESS = 'kpr_tc_pod_ingr';
/** Pod a3's interface carries another program in kpr's tc slot. */
const FOREIGN = 'a3';
const TC_PASS = path.join(repoRoot(), 'build', 'tc_pass.o');
/** The UDP flows to the ClusterIP leave from ports of their own, from here on. */
const FIRST_PORT = 20000;

describe('per-packet path: pods whose packets no socket hook translated reach services through their interface', () => {
  let topo: EdgeTopology;
  let nodeA: EdgeNode;
  let manifests: string;
  let clientCgroup: TestCgroup;
  let podA1: Place;
  const servers: EchoServer[] = [];
  const agents: EdgeNodeAgent[] = [];
  const drops = () => agents.map((a) => edgeDrops(pinPaths(a.root.path).maps));
  const kpr = (...args: string[]) => JSON.parse(run(KPR, [...args, '--bpf-root', agents[0].root.path, '-o', 'json']));
  const tcFilter = (ns: string, dev: string, dir: string) => run('tc', ['-n', ns, 'filter', 'show', 'dev', dev, dir]);

  /** Every probe answered, by the backends: each UDP answer from the
   *  frontend, each TCP connection seen by its backend as from the pod
   *  itself (only the destination changes on the way). */
  function expectServed(r: ClientReport, pod: { ipv4: string; ipv6: string }, addr: string, port: number, count: number): void {
    expect(r.errors).toEqual({});
    expect(Object.keys(r.backends).sort()).toEqual(BACKENDS);
    expect(Object.values(r.backends).reduce((a, b) => a + b, 0)).toBe(count);
    const seen = r.mode === 'tcp' ? r.results.map((x) => x.seenAs) : r.results.map((x) => `${x.fromAddr}|${x.fromPort}`);
    const want = r.mode === 'tcp' ? pod[addr.includes(':') ? 'ipv6' : 'ipv4'] : `${addr}|${port}`;
    expect(new Set(seen)).toEqual(new Set([want]));
  }

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('podp', 3);
    nodeA = topo.nodes[0];
    for (const n of topo.nodes) for (const p of n.pods) servers.push(await startEchoServer(p.ns, p.name, { tcp: [TARGET], udp: [UDP_TARGET] }));
    // The client pod's own stack leaves its checksums to the device, as pods' do.
    run('ip', ['netns', 'exec', nodeA.pods[0].ns, 'ethtool', '-K', 'eth0', 'tx', 'on']);
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-podp-'));
    clientCgroup = createTestCgroup('podp-client');
    podA1 = { cgroup: clientCgroup.path, ns: nodeA.pods[0].ns };
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    const pods = topo.nodes.flatMap((n) => n.pods.map((p) => ({ ...p, node: n.name }))).filter((p) => BACKENDS.includes(p.name));
    writeManifest(
      manifests,
      'web.yaml',
      serviceManifest({
        namespace: 'podp',
        name: 'web',
        clusterIPs: [CLUSTER_IPS.ipv4, CLUSTER_IPS.ipv6],
        ports: [
          { name: 'http', port: 80, targetPort: TARGET, protocol: 'TCP', nodePort: NODE_PORTS.tcp },
          { name: 'dns', port: 53, targetPort: UDP_TARGET, protocol: 'UDP', nodePort: NODE_PORTS.udp },
        ],
        endpoints: pods.flatMap((p) => [p.ipv4, p.ipv6].map((addr) => ({ addr, node: p.node }))),
        extraSpec: { type: 'NodePort' },
      }),
    );
    // A CNI's own program in kpr's slot of one pod interface (as Cilium's or Calico's would be).
    run('tc', ['-n', nodeA.ns, 'qdisc', 'add', 'dev', FOREIGN, 'clsact']);
    run('tc', ['-n', nodeA.ns, 'filter', 'add', 'dev', FOREIGN, 'ingress', 'pref', '1', 'handle', '1', 'bpf', 'da', 'obj', TC_PASS, 'sec', 'tc']);
    agents.push(await startEdgeNodeAgent(nodeA, manifests, ['--bpf-lb-pod-interfaces', 'auto']));
    agents.push(await startEdgeNodeAgent(topo.nodes[1], manifests));
  });

  afterAll(() => tearDownEdgeTest({ agents, servers, topo, clientCgroup, dirs: [manifests] }));

  test("node A's pod interfaces carry the path, its device the edge LB's tc; node B's pods carry nothing", () => {
    for (const pod of ['a1', 'a2']) {
      expect(tcFilter(nodeA.ns, pod, 'ingress')).toContain(POD_INGRESS);
      expect(tcFilter(nodeA.ns, pod, 'egress')).toContain('kpr_tc_dsr_egre');
    }
    expect(tcFilter(nodeA.ns, nodeA.device, 'ingress')).toContain('kpr_tc_dsr_ingr');
    expect(tcFilter(topo.nodes[1].ns, 'b1', 'ingress')).not.toContain('kpr_tc');
  });

  test.each(FAMILIES)(`%s: ${FLOWS} TCP connections and ${FLOWS} UDP flows to the ClusterIP reach every backend`, async (family) => {
    const addr = CLUSTER_IPS[family];
    const tcp = await runClient(podA1, { mode: 'tcp', addr, port: 80, count: FLOWS, deadlineMs: 180_000 });
    const udp = await runClient(podA1, { mode: 'udp-connected-new-socket', addr, port: 53, count: FLOWS, sourcePort: FIRST_PORT, timeoutMs: 1000, deadlineMs: 180_000 });
    expectServed(tcp, nodeA.pods[0], addr, 80, FLOWS);
    expectServed(udp, nodeA.pods[0], addr, 53, FLOWS);
  });

  test.each(FAMILIES)(`%s: node A's NodePorts, from its own pod, ${FLOWS / 5} flows each`, async (family) => {
    const addr = nodeA[family];
    const tcp = await runClient(podA1, { mode: 'tcp', addr, port: NODE_PORTS.tcp, count: FLOWS / 5, deadlineMs: 120_000 });
    expectServed(tcp, nodeA.pods[0], addr, NODE_PORTS.tcp, FLOWS / 5);
    const udp = await runClient(podA1, { mode: 'udp-new-socket', addr, port: NODE_PORTS.udp, count: FLOWS / 5, timeoutMs: 1000, deadlineMs: 120_000 });
    expectServed(udp, nodeA.pods[0], addr, NODE_PORTS.udp, FLOWS / 5);
  });

  test.each(FAMILIES)(`%s: ${FRAGMENTED.count} datagrams of ${FRAGMENTED.bytes} bytes, fragmented both ways, answered whole from the ClusterIP`, async (family) => {
    const addr = CLUSTER_IPS[family];
    const { count, bytes } = FRAGMENTED;
    const r = await runClient(podA1, { mode: 'udp-new-socket', addr, port: 53, count, requestBytes: bytes, answerBytes: bytes, timeoutMs: 1000, deadlineMs: 120_000 });
    expectServed(r, nodeA.pods[0], addr, 53, count);
    expect(new Set(r.results.map((x) => `${x.backendReceived}|${x.answerBytes}`))).toEqual(new Set([`${bytes}|${bytes}`]));
  });

  test.each(FAMILIES)('%s: hairpin: a backend pod reaching its own service may land on itself, which sees the connection come from the hairpin address', async (family) => {
    const a2 = nodeA.pods[1];
    const place = { cgroup: clientCgroup.path, ns: a2.ns };
    const addr = CLUSTER_IPS[family];
    const tcp = await runClient(place, { mode: 'tcp', addr, port: 80, count: 1500, deadlineMs: 120_000 });
    expect(tcp.errors).toEqual({});
    expect(Object.keys(tcp.backends).sort()).toEqual(BACKENDS);
    const hairpin = family === 'ipv4' ? '169.254.42.1' : '100::42:1';
    const seen = (to: string) => new Set(tcp.results.filter((x) => x.backend === to).map((x) => x.seenAs));
    expect(seen('a2')).toEqual(new Set([hairpin]));
    expect(seen('b1')).toEqual(new Set([a2[family]]));
    const udp = await runClient(place, { mode: 'udp-new-socket', addr, port: 53, count: 1500, timeoutMs: 1000, deadlineMs: 120_000 });
    expect(udp.errors).toEqual({});
    expect(udp.backends.a2).toBeGreaterThan(0);
    expect(new Set(udp.results.map((x) => `${x.fromAddr}|${x.fromPort}`))).toEqual(new Set([`${addr}|53`]));
  });

  test('a pod that comes after the agent gets the path from the link event, before any sync', async () => {
    const late = topo.addPod(nodeA);
    await waitFor(() => tcFilter(nodeA.ns, late.name, 'ingress').includes(POD_INGRESS), 5000, `the path on ${late.name}`);
    const place = { cgroup: clientCgroup.path, ns: late.ns };
    for (const family of FAMILIES) {
      const addr = CLUSTER_IPS[family];
      expectServed(await runClient(place, { mode: 'tcp', addr, port: 80, count: 300, deadlineMs: 60_000 }), late, addr, 80, 300);
    }
  });

  test("a pod interface whose kpr slot another program holds is left alone, and said", async () => {
    expect(tcFilter(nodeA.ns, FOREIGN, 'ingress')).toContain('tc_pass');
    expect(tcFilter(nodeA.ns, FOREIGN, 'egress')).not.toContain('kpr_tc');
    expect(agents[0].process.lines.filter((l) => l.includes(`${FOREIGN} has tc_pass in kpr's tc slot`))).toHaveLength(1);
    const r = await runClient({ cgroup: clientCgroup.path, ns: nodeA.pods[2].ns }, { mode: 'tcp', addr: CLUSTER_IPS.ipv4, port: 80, count: 3, timeoutMs: 500, deadlineMs: 30_000 });
    expect(r.backends).toEqual({});
  });

  test('without the path (node B) a pod reaches no ClusterIP: nothing routes it', async () => {
    const place = { cgroup: clientCgroup.path, ns: topo.nodes[1].pods[0].ns };
    const r = await runClient(place, { mode: 'tcp', addr: CLUSTER_IPS.ipv4, port: 80, count: 5, timeoutMs: 500, deadlineMs: 30_000 });
    expect(r.backends).toEqual({});
    expect(Object.values(r.errors).reduce((a, b) => a + b, 0)).toBe(5);
  });

  test('kpr services lists the pods\' view beside the edge view; kpr flows has the flows; nothing was dropped', () => {
    const rows = (kpr('services') as ({ lb: string } & EdgeServiceRow)[]).filter((s) => s.lb === 'edge');
    const pod = rows.filter((r) => r.scope === 'pod');
    for (const family of FAMILIES) {
      const cluster = family === 'ipv6' ? `[${CLUSTER_IPS[family]}]` : CLUSTER_IPS[family];
      const node = family === 'ipv6' ? `[${nodeA[family]}]` : nodeA[family];
      expect(pod.map((r) => r.frontend)).toEqual(expect.arrayContaining([`${cluster}:80/TCP`, `${cluster}:53/UDP`, `${node}:${NODE_PORTS.tcp}/TCP`]));
      // The NodePort is in the edge view too, with its own service id.
      const np = rows.filter((r) => r.frontend === `${node}:${NODE_PORTS.tcp}/TCP`);
      expect(np.map((r) => r.scope).sort()).toEqual(['external', 'pod']);
      expect(new Set(np.map((r) => r.svcId)).size).toBe(2);
    }
    for (const r of pod) expect(r.backends.map((b) => b.addr).length).toBe(BACKENDS.length);
    // The UDP flows to the ClusterIP, each from a port of its own: every one is in the flow table, with its backend.
    const flows = kpr('flows') as FlowRow[];
    for (const family of FAMILIES) {
      const client = nodeA.pods[0][family];
      const own = flows.filter((f) => {
        const port = Number(f.client.slice(f.client.lastIndexOf(':') + 1));
        return f.proto === 'UDP' && f.client.includes(client) && port >= FIRST_PORT && port < FIRST_PORT + FLOWS;
      });
      expect(own.length).toBe(FLOWS);
      expect(new Set(own.map((f) => f.backend?.replace(/:\d+$/, '')))).toEqual(new Set(topo.nodes.flatMap((n) => n.pods.filter((p) => BACKENDS.includes(p.name))).map((p) => (family === 'ipv6' ? `[${p[family]}]` : p[family]))));
    }
    expect(drops()).toEqual([{}, {}]);
  });
});

