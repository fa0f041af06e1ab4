// The socket-LB bypass with real traffic: a pod whose outbound TCP a mesh
// sidecar captures (iptables REDIRECT in the pod's own namespace to a proxy
// that reads SO_ORIGINAL_DST, tests/helpers/orig_dst_proxy.py) must see the
// ClusterIP it connected to, not the backend the socket LB would have put in
// its place. Every client here runs in its agent's cgroup, so the socket
// LB's hooks see it, as they see every pod's.
//
// Node A (per-pod bypass): a1 asks with the Pod annotation kpr.io/socket-lb:
// disabled, a2's namespace asks for all its pods, a3 does not. Node B runs
// with --bpf-lb-sock-hostns-only: no pod of it is translated at connect(),
// the node's own processes are. Both run the per-packet path, which then
// balances the bypassed pods' packets. Backends: a3, b2, b3.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { Place, runClient, spawnInPlace } from '../helpers/client_runner';
import { ClientReport } from '../helpers/client_report';
import { createEdgeTopology, EdgeHost, EdgeNode, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { LineProcess } from '../helpers/line_process';
import { namespaceManifest, nodeManifest, podManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';

jest.setTimeout(300_000);

const TARGET = 8080;
const UDP_TARGET = 5353;
const CLUSTER_IPS = { ipv4: '198.19.9.70', ipv6: 'fd00:198:18:1::9:70' };
const FAMILIES = ['ipv4', 'ipv6'] as const;
const BACKENDS = ['a3', 'b2', 'b3'];
/** Connections through the sidecar, and flows straight, per family and client. */
const CAPTURED = 1000;
const FLOWS = 2000;
const PROXY = path.join(repoRoot(), 'tests', 'helpers', 'orig_dst_proxy.py');
const PROXY_PORT = 15001;
/** The proxy's own connections carry this mark: the redirect lets them pass. */
const PROXY_MARK = 1337;
const OFF = { 'kpr.io/socket-lb': 'disabled' };

describe('socket-LB bypass: per pod, per namespace, and per node (--bpf-lb-sock-hostns-only)', () => {
  let topo: EdgeTopology;
  let nodeA: EdgeNode;
  let nodeB: EdgeNode;
  let manifests: string;
  const servers: EchoServer[] = [];
  const proxies: LineProcess[] = [];
  const agents: EdgeNodeAgent[] = [];
  const pod = (name: string): EdgeHost => topo.nodes.flatMap((n) => n.pods).find((p) => p.name === name)!;
  /** Where a pod's processes run: its namespace, its node agent's cgroup. */
  const inPod = (name: string): Place => ({ cgroup: agents[name.startsWith('a') ? 0 : 1].cgroup.path, ns: pod(name).ns });

  /** Pod a1 with or without its annotation, a2 in the namespace that asks, the rest plain. */
  function writePods(a1Asks: boolean): void {
    const pods = topo.nodes.flatMap((n) => n.pods.map((p) => ({ ...p, node: n.name })));
    const docs = pods.map((p) =>
      podManifest({ namespace: p.name === 'a2' ? 'mesh' : 'apps', name: p.name, node: p.node, ips: [p.ipv4, p.ipv6], ...(p.name === 'a1' && a1Asks ? { annotations: OFF } : {}) }),
    );
    writeManifest(manifests, 'pods.yaml', [namespaceManifest('mesh', OFF), namespaceManifest('apps'), ...docs].join('---\n'));
  }

  /** The pod's outbound TCP captured by a sidecar proxy, as a mesh does. */
  async function sidecar(name: string): Promise<LineProcess> {
    for (const cmd of ['iptables', 'ip6tables']) {
      run('ip', ['netns', 'exec', pod(name).ns, cmd, '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-m', 'mark', '!', '--mark', String(PROXY_MARK), '-j', 'REDIRECT', '--to-ports', String(PROXY_PORT)]);
    }
    const proxy = spawnInPlace(inPod(name), ['python3', PROXY, String(PROXY_PORT), String(PROXY_MARK)]);
    proxies.push(proxy);
    await proxy.waitForLine('listening', (l) => l === 'listening', 10_000);
    return proxy;
  }

  /** What a sidecar saw the connections go to since line `from`: "addr port" counts. */
  const destinations = (proxy: LineProcess, from: number) => {
    const out: Record<string, number> = {};
    for (const l of proxy.lines.slice(from)) if (l.startsWith('orig ') || l.startsWith('error ')) out[l.slice(l.indexOf(' ') + 1)] = (out[l.slice(l.indexOf(' ') + 1)] ?? 0) + 1;
    return out;
  };
  const backendDestinations = (family: 'ipv4' | 'ipv6') => BACKENDS.map((b) => `${pod(b)[family]} ${TARGET}`).sort();

  function expectServed(r: ClientReport, count: number, client?: EdgeHost): void {
    expect(r.errors).toEqual({});
    expect(Object.keys(r.backends).sort()).toEqual(BACKENDS);
    expect(Object.values(r.backends).reduce((a, b) => a + b, 0)).toBe(count);
    if (client && r.mode === 'tcp') expect(new Set(r.results.map((x) => x.seenAs))).toEqual(new Set([client[r.addr.includes(':') ? 'ipv6' : 'ipv4']]));
  }

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('byp', 3);
    [nodeA, nodeB] = topo.nodes;
    for (const n of topo.nodes) for (const p of n.pods) servers.push(await startEchoServer(p.ns, p.name, { tcp: [TARGET], udp: [UDP_TARGET] }));
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-byp-'));
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    writeManifest(
      manifests,
      'web.yaml',
      serviceManifest({
        namespace: 'apps',
        name: 'web',
        clusterIPs: [CLUSTER_IPS.ipv4, CLUSTER_IPS.ipv6],
        ports: [
          { name: 'http', port: 80, targetPort: TARGET, protocol: 'TCP' },
          { name: 'dns', port: 53, targetPort: UDP_TARGET, protocol: 'UDP' },
        ],
        endpoints: topo.nodes.flatMap((n) => n.pods.filter((p) => BACKENDS.includes(p.name)).flatMap((p) => [p.ipv4, p.ipv6].map((addr) => ({ addr, node: n.name })))),
      }),
    );
    writePods(true);
    agents.push(await startEdgeNodeAgent(nodeA, manifests, ['--bpf-lb-pod-interfaces', 'auto']));
    agents.push(await startEdgeNodeAgent(nodeB, manifests, ['--bpf-lb-pod-interfaces', 'auto', '--bpf-lb-sock-hostns-only', 'true']));
    await agents[0].process.waitForLine('the bypass in 2 namespaces', (l) => /socket LB bypass: 2 pod network namespaces/.test(l), 10_000);
  });

  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.stop('SIGKILL')));
    await tearDownEdgeTest({ agents, servers, topo, dirs: [manifests] });
  });

  test.each(FAMILIES)(`%s: a pod that asks keeps the ClusterIP for its sidecar (${CAPTURED} connections); a plain pod's sidecar sees the backends`, async (family) => {
    const addr = CLUSTER_IPS[family];
    const [bypassed, plain] = [await sidecarOf('a1'), await sidecarOf('a3')];
    const [b0, p0] = [bypassed.lines.length, plain.lines.length];
    expectServed(await runClient(inPod('a1'), { mode: 'tcp', addr, port: 80, count: CAPTURED, deadlineMs: 120_000 }), CAPTURED, pod('a1'));
    expect(destinations(bypassed, b0)).toEqual({ [`${addr} 80`]: CAPTURED });
    expectServed(await runClient(inPod('a3'), { mode: 'tcp', addr, port: 80, count: CAPTURED, deadlineMs: 120_000 }), CAPTURED);
    expect(Object.keys(destinations(plain, p0)).sort()).toEqual(backendDestinations(family));
  });

  test.each(FAMILIES)(`%s: a pod of a namespace that asks reaches the service over TCP and UDP by the per-packet path, seen as itself (${FLOWS} flows each)`, async (family) => {
    const addr = CLUSTER_IPS[family];
    expectServed(await runClient(inPod('a2'), { mode: 'tcp', addr, port: 80, count: FLOWS, deadlineMs: 120_000 }), FLOWS, pod('a2'));
    for (const mode of ['udp-new-socket', 'udp-connected-new-socket'] as const) {
      const udp = await runClient(inPod('a2'), { mode, addr, port: 53, count: FLOWS, timeoutMs: 1000, deadlineMs: 120_000 });
      expectServed(udp, FLOWS);
      expect(new Set(udp.results.map((x) => `${x.fromAddr}|${x.fromPort}`))).toEqual(new Set([`${addr}|53`]));
    }
  });

  test.each(FAMILIES)('%s: --bpf-lb-sock-hostns-only: a plain pod of node B keeps the ClusterIP; the node itself is still served by the socket LB', async (family) => {
    const addr = CLUSTER_IPS[family];
    const proxy = await sidecarOf('b1');
    const from = proxy.lines.length;
    expectServed(await runClient(inPod('b1'), { mode: 'tcp', addr, port: 80, count: CAPTURED, deadlineMs: 120_000 }), CAPTURED, pod('b1'));
    expect(destinations(proxy, from)).toEqual({ [`${addr} 80`]: CAPTURED });
    // No pod interface carries the node's own connections: only the socket LB can have served them.
    const node = { cgroup: agents[1].cgroup.path, ns: nodeB.ns };
    expectServed(await runClient(node, { mode: 'tcp', addr, port: 80, count: CAPTURED, deadlineMs: 120_000 }), CAPTURED);
  });

  test('the annotation taken off: the pod is translated at connect() again, its sidecar sees the backends', async () => {
    writePods(false);
    await agents[0].process.waitForLine('the bypass in 1 namespace', (l) => /socket LB bypass: 1 pod network namespaces/.test(l), 10_000);
    const proxy = await sidecarOf('a1');
    const from = proxy.lines.length;
    expectServed(await runClient(inPod('a1'), { mode: 'tcp', addr: CLUSTER_IPS.ipv4, port: 80, count: 300, deadlineMs: 60_000 }), 300);
    expect(Object.keys(destinations(proxy, from)).sort()).toEqual(backendDestinations('ipv4'));
  });

  /** Each pod's sidecar, started once. */
  const started = new Map<string, LineProcess>();
  async function sidecarOf(name: string): Promise<LineProcess> {
    let p = started.get(name);
    if (!p) started.set(name, (p = await sidecar(name)));
    return p;
  }
});
