// Localhost NodePorts (kube-proxy's iptables.localhostNodePorts) with real
// traffic: the node's own processes reach a NodePort on 127.0.0.1 and ::1,
// backends on this node and the other, over TCP and UDP (replies seen from
// the loopback address asked), and ClientIP affinity holds them to one
// backend. In a pod's namespace loopback is the pod's own: a pod that
// connects to 127.0.0.1:<nodePort> reaches its own listener, although the
// socket LB's hooks see it. Node B runs with --iptables-localhost-nodeports
// false and serves nothing on loopback. Backends: a3, b2, b3. Each node's
// hop towards its pods has a 1400-byte route MTU (podPathMtu): datagrams
// larger than it go in fragments, 1 MiB transfers learn the path's MTU, and
// a closed backend port answers with ICMP errors that reach the node's
// sockets, which asked 127.0.0.1 and ::1.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { Place, runClient } from '../helpers/client_runner';
import { ClientReport } from '../helpers/client_report';
import { cachedMtu, createEdgeTopology, EdgeHost, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';

jest.setTimeout(300_000);

const TARGET = 8080;
const UDP_TARGET = 5353;
const NODE_PORT = 30080;
const AFFINITY_NODE_PORT = 30081;
const CLOSED_NODE_PORT = 30082;
const CLOSED = 9999;
const HOP_MTU = 1400;
const MIB = 1 << 20;
/** Datagrams over the hop's MTU each way: fragments through the socket LB's reverse translation. */
const FRAGMENTED_BYTES = 3000;
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

  function service(name: string, nodePort: number, extraSpec: Record<string, unknown> = {}, udpTarget = UDP_TARGET): string {
    const ip = 80 + [NODE_PORT, AFFINITY_NODE_PORT, CLOSED_NODE_PORT].indexOf(nodePort);
    return serviceManifest({
      namespace: 'apps',
      name,
      clusterIPs: [`198.19.9.${ip}`, `fd00:198:18:1::9:${ip}`],
      ports: [
        { name: 'http', port: 80, targetPort: TARGET, protocol: 'TCP', nodePort },
        { name: 'dns', port: 53, targetPort: udpTarget, protocol: 'UDP', nodePort },
      ],
      endpoints: topo.nodes.flatMap((n) => n.pods.filter((p) => BACKENDS.includes(p.name)).flatMap((p) => [p.ipv4, p.ipv6].map((addr) => ({ addr, node: n.name })))),
      extraSpec: { type: 'NodePort', ...extraSpec },
    });
  }

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('lhnp', 3, { podPathMtu: HOP_MTU });
    for (const n of topo.nodes) for (const p of n.pods) servers.push(await startEchoServer(p.ns, p.name, { tcp: [TARGET], udp: [UDP_TARGET] }));
    // The backends' kernels answer every datagram to the closed port, not the few a second they allow by default.
    for (const b of BACKENDS) run('ip', ['netns', 'exec', pod(b).ns, 'sysctl', '-q', '-w', 'net.ipv4.icmp_ratelimit=0', 'net.ipv6.icmp.ratelimit=0', 'net.ipv4.icmp_msgs_per_sec=100000', 'net.ipv4.icmp_msgs_burst=100000']);
    // Pod a1's own listener on the NodePort's number, on its own loopback among its addresses.
    servers.push(await startEchoServer(pod('a1').ns, 'a1-own', { tcp: [NODE_PORT], udp: [NODE_PORT] }));
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-lhnp-'));
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    writeManifest(manifests, 'web.yaml', service('web', NODE_PORT));
    writeManifest(manifests, 'sticky.yaml', service('sticky', AFFINITY_NODE_PORT, { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } } }));
    writeManifest(manifests, 'closed.yaml', service('closed', CLOSED_NODE_PORT, {}, CLOSED));
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

  test.each(FAMILIES)(`%s: 500 datagrams of ${FRAGMENTED_BYTES} bytes each way, in fragments over the ${HOP_MTU}-byte hop, answered from loopback`, async (family) => {
    const addr = LOOPBACK[family];
    const r = await runClient(onNode(0), { mode: 'udp-new-socket', addr, port: NODE_PORT, count: 500, requestBytes: FRAGMENTED_BYTES, answerBytes: FRAGMENTED_BYTES, timeoutMs: 1000, deadlineMs: 120_000 });
    // IPv6 is never fragmented in flight: the node's first datagram to each
    // backend behind the hop is dropped there with Packet Too Big, which
    // teaches the node the MTU; IPv4's are fragmented by the hop.
    const remoteBackends = BACKENDS.filter((b) => b.startsWith('b')).length;
    expect(family === 'ipv6' ? (r.errors.ETIMEDOUT ?? 0) <= remoteBackends && Object.keys(r.errors).every((e) => e === 'ETIMEDOUT') : r.errors).toEqual(family === 'ipv6' ? true : {});
    expect(total(r)).toBeGreaterThanOrEqual(500 - (family === 'ipv6' ? remoteBackends : 0));
    expect(Object.keys(r.backends).sort()).toEqual(BACKENDS);
    const answered = r.results.filter((x) => x.fromAddr !== undefined);
    expect(new Set(answered.map((x) => `${x.fromAddr}|${x.fromPort}`))).toEqual(new Set([`${addr}|${NODE_PORT}`]));
  });

  test.each(FAMILIES)('%s: UDP to a closed backend port: each of 200 connected sockets is refused at once by the backend\'s ICMP error', async (family) => {
    const r = await runClient(onNode(0), { mode: 'udp-connected-new-socket', addr: LOOPBACK[family], port: CLOSED_NODE_PORT, count: 200, timeoutMs: 2000, deadlineMs: 120_000 });
    expect({ backends: r.backends, errors: r.errors }).toEqual({ backends: {}, errors: { ECONNREFUSED: 200 } });
    expect(Math.max(...r.results.map((x) => x.ms))).toBeLessThan(1000);
  });

  test.each(FAMILIES)(`%s: 20 uploads and 20 downloads of 1 MiB through the loopback NodePort complete over the ${HOP_MTU}-byte hop; the node learned its MTU to node B's backends`, async (family) => {
    const seen = new Set<string>();
    for (const dir of [{ upload: MIB }, { download: MIB }]) {
      const r = await runClient(onNode(0), { mode: 'transfer', addr: LOOPBACK[family], port: NODE_PORT, count: 20, ...dir, timeoutMs: 20_000, deadlineMs: 180_000 });
      expect(r.errors).toEqual({});
      expect(total(r)).toBe(20);
      for (const b of Object.keys(r.backends)) seen.add(b);
    }
    const remote = [...seen].filter((b) => b.startsWith('b'));
    expect(remote.length).toBeGreaterThan(0);
    for (const b of remote) expect(cachedMtu(topo.nodes[0], pod(b)[family])).toBe(HOP_MTU);
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
