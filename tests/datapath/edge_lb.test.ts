// The edge LB with real traffic: an outside client, two nodes each running
// the agent (standalone, the same manifests) with XDP and tc on its device,
// and pods behind both (tests/helpers/edge_topology.ts). The client reaches
// load balancer IPs through node A and NodePorts on either node.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { ClientReport } from '../helpers/client_report';
import { Place, runClient, startClient, startHold } from '../helpers/client_runner';
import { createEdgeTopology, EdgeNode, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { LineProcess } from '../helpers/line_process';
import { Endpoint, nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { startPipeline } from '../helpers/pipeline';
import { assertPrivileged } from '../helpers/preflight';
import { ip, run } from '../helpers/run';
import { spawnSync } from 'child_process';
import { AgentHealth, AttachmentRow } from '../../lib/cli/status_report';
import { Decision } from '../../lib/datapath/edge/trace';
import { BackendRow, EdgeServiceRow, FlowRow } from '../../lib/cli/edge_listing';
import { KernelStatus, repoRoot } from '../../lib/datapath/native';
import { pinPaths } from '../../lib/host/bpffs';
import { EchoServer, startEchoServer } from '../helpers/servers';
import { readTraceCtl } from './edge_maps';

jest.setTimeout(120_000);

const TARGET = 8080;
const UDP_TARGET = 5353;
/** The traced services' backends listen here too, and no other service sends there. */
const TRACED_TARGET = 8081;
const NODE_PORT = 30080;
const KPR = path.join(repoRoot(), 'bin', 'kpr');
const FRAMES_FROM = path.join(__dirname, '..', '..', '..', 'tests', 'helpers', 'frames_from.py');
const TRACING_ALL = 'tracing every frontend (Ctrl-C stops)';

interface EdgeService {
  name: string;
  lbIp: string;
  endpoints: Endpoint[];
  extraSpec?: Record<string, unknown>;
  annotations?: Record<string, string>;
  protocol?: 'TCP' | 'UDP';
  nodePort?: number;
  targetPort?: number;
}

describe('edge LB: real traffic through two nodes', () => {
  let topo: EdgeTopology;
  let servers: EchoServer[] = [];
  let manifests: string;
  let clientCgroup: TestCgroup;
  const agents: EdgeNodeAgent[] = [];
  let client: Place;
  let nodeA: EdgeNode;
  let nodeB: EdgeNode;
  let clusterIp = 10;

  const pod = (name: string) => topo.nodes.flatMap((n) => n.pods.map((p) => ({ ...p, node: n.name }))).find((p) => p.name === name)!;
  const endpoint = (name: string): Endpoint => ({ addr: pod(name).ipv4, node: pod(name).node });

  function write(s: EdgeService): void {
    const port = { name: 'p', port: 80, targetPort: s.targetPort ?? (s.protocol === 'UDP' ? UDP_TARGET : TARGET), protocol: s.protocol ?? 'TCP', nodePort: s.nodePort };
    writeManifest(
      manifests,
      `${s.name}.yaml`,
      serviceManifest({
        namespace: 'edge',
        name: s.name,
        clusterIPs: [`198.19.7.${clusterIp++}`],
        ports: [port],
        endpoints: s.endpoints,
        extraSpec: { type: 'LoadBalancer', ...s.extraSpec },
        status: { loadBalancer: { ingress: [{ ip: s.lbIp }] } },
        annotations: s.annotations,
      }),
    );
  }

  async function startNodeAgent(node: EdgeNode, args: string[]): Promise<LineProcess> {
    const agent = await startEdgeNodeAgent(node, manifests, args);
    agents.push(agent);
    return agent.process;
  }

  const tcp = (addr: string, port: number, count: number, timeoutMs?: number): Promise<ClientReport> =>
    runClient(client, { mode: 'tcp', addr, port, count, timeoutMs });

  const services: EdgeService[] = [];
  const service = (s: EdgeService) => {
    services.push(s);
    return s;
  };
  const WEB = service({ name: 'web', lbIp: '198.18.100.1', endpoints: [], nodePort: NODE_PORT });
  const ONLY_B = service({ name: 'only-b', lbIp: '198.18.100.2', endpoints: [] });
  const SNAT = service({ name: 'snat', lbIp: '198.18.100.3', endpoints: [], annotations: { 'service.cilium.io/forwarding-mode': 'snat' } });
  const STICKY = service({ name: 'sticky', lbIp: '198.18.100.4', endpoints: [], extraSpec: { sessionAffinity: 'ClientIP' } });
  const FENCED = service({ name: 'fenced', lbIp: '198.18.100.5', endpoints: [], extraSpec: { loadBalancerSourceRanges: ['198.18.0.200/32'] }, nodePort: NODE_PORT + 5 });
  const OPEN = service({ name: 'open', lbIp: '198.18.100.6', endpoints: [], extraSpec: { loadBalancerSourceRanges: ['198.18.0.0/28'] }, nodePort: NODE_PORT + 6 });
  const LOCAL = service({ name: 'local', lbIp: '198.18.100.7', endpoints: [], extraSpec: { externalTrafficPolicy: 'Local' } });
  const FLOW = service({ name: 'flow', lbIp: '198.18.100.8', endpoints: [] });
  const DNS = service({ name: 'dns', lbIp: '198.18.100.9', endpoints: [], protocol: 'UDP' });
  // For `kpr trace`: backends no other frontend reaches, none shared between
  // the two, so that each connection is a new flow with a Maglev pick even
  // where the client reuses a source port it had used towards another frontend.
  const TRACED_A = service({ name: 'traced-a', lbIp: '198.18.100.10', endpoints: [], targetPort: TRACED_TARGET });
  const TRACED_B = service({ name: 'traced-b', lbIp: '198.18.100.11', endpoints: [], targetPort: TRACED_TARGET });

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('edge', 2);
    [nodeA, nodeB] = topo.nodes;
    for (const n of topo.nodes) for (const p of n.pods) servers.push(await startEchoServer(p.ns, p.name, { tcp: [TARGET, TRACED_TARGET], udp: [UDP_TARGET] }));
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-edge-'));
    clientCgroup = createTestCgroup('edge-client');
    client = { cgroup: clientCgroup.path, ns: topo.client.ns };
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    WEB.endpoints = [endpoint('a1'), endpoint('b1')];
    ONLY_B.endpoints = [endpoint('b1')];
    SNAT.endpoints = [endpoint('b1')];
    STICKY.endpoints = [endpoint('a1'), endpoint('a2'), endpoint('b1'), endpoint('b2')];
    FENCED.endpoints = [endpoint('a1')];
    OPEN.endpoints = [endpoint('a1')];
    LOCAL.endpoints = [endpoint('a1'), endpoint('b1')];
    FLOW.endpoints = [endpoint('b1')];
    DNS.endpoints = [endpoint('b2')];
    TRACED_A.endpoints = [endpoint('a1'), endpoint('b1')];
    TRACED_B.endpoints = [endpoint('a2'), endpoint('b2')];
    services.forEach(write);
    // Node A keeps kube-proxy's rule for source ranges, node B guards NodePorts with them too.
    await startNodeAgent(nodeA, ['--lb-mode', 'dsr']);
    await startNodeAgent(nodeB, ['--lb-mode', 'dsr', '--bpf-lb-source-range-all-types', 'true']);
  });

  afterAll(() => tearDownEdgeTest({ agents, servers, topo, clientCgroup, dirs: [manifests] }));

  test('the agent attaches XDP natively and tc to the device, and says so', () => {
    for (const a of agents) expect(a.process.lines.join('\n')).toMatch(/xdp.*eth0.*native/i);
    expect(ip('-n', nodeA.ns, 'link', 'show', 'eth0')).toMatch(/prog\/xdp id \d+ name kpr_xdp_lb/);
  });

  test('LB IP and NodePorts reach backends on both nodes, and the backends see the client', async () => {
    for (const [addr, port] of [
      [WEB.lbIp, 80],
      [nodeA.ipv4, NODE_PORT],
      [nodeB.ipv4, NODE_PORT],
    ] as const) {
      const r = await tcp(addr, port, 40);
      expect(r.errors).toEqual({});
      expect(Object.keys(r.backends).sort()).toEqual(['a1', 'b1']);
      expect(new Set(r.results.map((x) => x.seenAs))).toEqual(new Set([topo.client.ipv4]));
      expect(new Set(r.results.map((x) => x.peerAddr))).toEqual(new Set([addr]));
    }
  });

  test('UDP to a backend on the other node is answered from the LB IP', async () => {
    const r = await runClient(client, { mode: 'udp', addr: DNS.lbIp, port: 80, count: 10 });
    expect(r.errors).toEqual({});
    expect(r.backends).toEqual({ b2: 10 });
    expect(new Set(r.results.map((x) => x.fromAddr))).toEqual(new Set([DNS.lbIp]));
  });

  test("DSR: replies of node B's backend reach the client straight from node B", async () => {
    const macOf = (n: EdgeNode) => (JSON.parse(ip('-n', n.ns, '-j', 'link', 'show', n.device)) as { address: string }[])[0].address;
    const sniffer = new LineProcess('frames_from', 'ip', ['netns', 'exec', topo.client.ns, 'python3', FRAMES_FROM, 'eth0', ONLY_B.lbIp, '4000']);
    await sniffer.waitForLine('sniffing', (l) => l === 'sniffing', 10_000);
    const r = await tcp(ONLY_B.lbIp, 80, 10);
    await sniffer.waitForExit(10_000);
    expect(r.backends).toEqual({ b1: 10 });
    const frames = JSON.parse(sniffer.stdoutLines[sniffer.stdoutLines.length - 1]) as Record<string, number>;
    expect(Object.keys(frames)).toEqual([macOf(nodeB)]);
    expect(frames[macOf(nodeB)]).toBeGreaterThanOrEqual(20); // SYN-ACK and the answer, at least, per connection
  });

  test('snat (by annotation): the backend on the other node answers through node A', async () => {
    const r = await tcp(SNAT.lbIp, 80, 10);
    expect(r.errors).toEqual({});
    expect(r.backends).toEqual({ b1: 10 });
    expect(new Set(r.results.map((x) => x.seenAs))).toEqual(new Set([nodeA.ipv4]));
  });

  test('ClientIP affinity keeps the client on one backend', async () => {
    const r = await tcp(STICKY.lbIp, 80, 20);
    expect(r.errors).toEqual({});
    expect(Object.values(r.backends)).toEqual([20]);
  });

  test('loadBalancerSourceRanges: a client outside them gets nothing, one inside is served', async () => {
    const denied = await tcp(FENCED.lbIp, 80, 2, 500);
    expect(denied.errors).toEqual({ ETIMEDOUT: 2 });
    const allowed = await tcp(OPEN.lbIp, 80, 5);
    expect(allowed.backends).toEqual({ a1: 5 });
  });

  test("a fenced service's NodePort: open by default as in kube-proxy (node A), guarded with --bpf-lb-source-range-all-types (node B)", async () => {
    const bypass = await tcp(nodeA.ipv4, FENCED.nodePort as number, 5);
    expect(bypass.errors).toEqual({});
    expect(bypass.backends).toEqual({ a1: 5 });
    const denied = await tcp(nodeB.ipv4, FENCED.nodePort as number, 2, 500);
    expect(denied.errors).toEqual({ ETIMEDOUT: 2 });
    const allowed = await tcp(nodeB.ipv4, OPEN.nodePort as number, 5);
    expect(allowed.errors).toEqual({});
    expect(allowed.backends).toEqual({ a1: 5 });
  });

  test('externalTrafficPolicy Local: only the backend on the node the traffic reached', async () => {
    const r = await tcp(LOCAL.lbIp, 80, 20);
    expect(r.backends).toEqual({ a1: 20 });
    expect(new Set(r.results.map((x) => x.seenAs))).toEqual(new Set([topo.client.ipv4]));
  });

  test("the CLI reads a node's edge state: kpr trace, flows, backends and services", async () => {
    const kpr = (...args: string[]) => run(KPR, [...args, '--bpf-root', agents[0].root.path, '-o', 'json']);
    const trace = new LineProcess('kpr trace', KPR, ['trace', '--bpf-root', agents[0].root.path, '--frontend', `${WEB.lbIp}:80/TCP`, '--count', '15', '-o', 'json']);
    await trace.waitForLine('tracing', (l) => l.startsWith('tracing'), 10_000);
    await tcp(WEB.lbIp, 80, 4);
    expect((await trace.waitForExit(10_000)).code).toBe(0);
    // A connection's first packet picks by Maglev, the rest follow its flow;
    // a backend on node B is reached by DSR, one on node A locally.
    const decisions = trace.stdoutLines.map((l) => JSON.parse(l) as Decision);
    expect(decisions).toHaveLength(15);
    const firsts = new Set<string>();
    for (const d of decisions) {
      expect(d.client.startsWith(`${topo.client.ipv4}:`)).toBe(true);
      expect(d.pick).toBe(firsts.has(d.client) ? 'flow' : 'maglev');
      firsts.add(d.client);
      expect(d.path).toBe(d.backend === `${pod('b1').ipv4}:${TARGET}` ? 'dsr' : 'local');
    }
    expect(firsts.size).toBeGreaterThan(1);

    const flows = JSON.parse(kpr('flows')) as FlowRow[];
    const toWeb = flows.filter((f) => f.client.startsWith(`${topo.client.ipv4}:`) && f.frontends.includes(`${WEB.lbIp}:80/TCP`));
    expect(toWeb.length).toBeGreaterThan(0);
    // The client closed each connection: its FIN is in the flow's state.
    expect(new Set(toWeb.map((f) => f.state))).toEqual(new Set(['closing']));
    expect(Math.min(...toWeb.map((f) => f.idleSeconds))).toBeLessThan(10);
    const backends = JSON.parse(kpr('backends')) as BackendRow[];
    expect(backends).toContainEqual(expect.objectContaining({ backend: `${pod('b1').ipv4}:${TARGET}`, node: nodeB.ipv4 }));
    const services = JSON.parse(kpr('services')) as ({ lb: string } & EdgeServiceRow)[];
    const web = services.find((e) => e.lb === 'edge' && e.frontend === `${WEB.lbIp}:80/TCP`);
    expect(web?.backends.map(({ addr, port, nodeAddr }) => ({ addr, port, nodeAddr }))).toEqual([
      { addr: pod('a1').ipv4, port: TARGET, nodeAddr: undefined },
      { addr: pod('b1').ipv4, port: TARGET, nodeAddr: nodeB.ipv4 },
    ]);
  });

  test('kpr trace without filters: the decisions of every frontend, thousands of connections each', async () => {
    const CONNECTIONS = 1500;
    const traced = [TRACED_A, TRACED_B];
    const trace = new LineProcess('kpr trace', KPR, ['trace', '--bpf-root', agents[0].root.path, '--duration', '90s', '-o', 'json']);
    try {
      await trace.waitForLine('tracing', (l) => l === TRACING_ALL, 10_000);
      expect(readTraceCtl(pinPaths(agents[0].root.path).maps)).toMatchObject({ frontendFamily: 0, clientFamily: 0 });
      const reports = await Promise.all(traced.map((s) => tcp(s.lbIp, 80, CONNECTIONS)));
      for (const r of reports) expect({ errors: r.errors, answered: r.results.length }).toEqual({ errors: {}, answered: CONNECTIONS });
      let scanned = 0;
      let picks = 0;
      await trace.waitUntil('a Maglev pick for every connection', () => {
        for (; scanned < trace.stdoutLines.length; scanned++) if (trace.stdoutLines[scanned].includes('"pick":"maglev"')) picks++;
        return picks >= traced.length * CONNECTIONS ? true : undefined;
      }, 30_000);
    } finally {
      await trace.stop('SIGINT');
    }
    expect((await trace.exited).code).toBe(0);
    const decisions = trace.stdoutLines.map((l) => JSON.parse(l) as Decision);
    expect(trace.stderrLines).toEqual([TRACING_ALL, `${decisions.length} decisions`]);
    // Per frontend, one Maglev pick per connection; each connection's later
    // packets follow its flow to the same backend, on node A or through DSR to node B.
    const flows = new Map<string, Decision[]>();
    for (const d of decisions) {
      const flow = `${d.frontend} ${d.client}`;
      flows.set(flow, [...(flows.get(flow) ?? []), d]);
    }
    const onNodeB = new Set(nodeB.pods.map((p) => `${p.ipv4}:${TRACED_TARGET}`));
    const connections: Record<string, number> = {};
    for (const [first] of flows.values()) connections[first.frontend] = (connections[first.frontend] ?? 0) + 1;
    expect(connections).toEqual(Object.fromEntries(traced.map((s) => [`${s.lbIp}:80/TCP`, CONNECTIONS])));
    const wrong = [...flows.values()].filter(
      ([first, ...rest]) =>
        !first.client.startsWith(`${topo.client.ipv4}:`) ||
        first.pick !== 'maglev' ||
        first.path !== (onNodeB.has(first.backend as string) ? 'dsr' : 'local') ||
        rest.some((d) => d.pick !== 'flow' || d.backend !== first.backend),
    );
    expect(wrong).toEqual([]);
  });

  test('kpr trace | head -3: three decisions, exit status 0, no error, and the trace switched off', async () => {
    const DURATION_MS = 30_000;
    // Bounded: at most 1000 connections, within 20 s; stopped as soon as the pipeline ends.
    const load = startClient(client, { mode: 'tcp', addr: TRACED_A.lbIp, port: 80, count: 1000, intervalMs: 10, deadlineMs: 20_000 });
    try {
      const started = Date.now();
      const piped = startPipeline([KPR, 'trace', '--bpf-root', agents[0].root.path, '--duration', `${DURATION_MS / 1000}s`], ['head', '-n', '3']);
      expect(await piped.waitForExit(DURATION_MS + 10_000)).toEqual({ code: 0, signal: null });
      // Ended by its reader, not by --duration, and it took its lease back.
      expect(Date.now() - started).toBeLessThan(DURATION_MS / 2);
      expect(readTraceCtl(pinPaths(agents[0].root.path).maps).untilNs).toBe(0);
      expect(piped.stdoutLines).toHaveLength(3);
      for (const line of piped.stdoutLines) {
        const [, from, to] = /^\d+\.\d{6} (\S+):\d+ -> (\S+): \S+ \(/.exec(line) ?? [];
        expect([from, to]).toEqual([topo.client.ipv4, `${TRACED_A.lbIp}:80/TCP`]);
      }
      expect(piped.stderrLines).toEqual([TRACING_ALL, expect.stringMatching(/^\d+ decisions$/)]);
    } finally {
      await load.stop();
    }
  });

  test("kpr status: the agent's health, the links, XDP and tc on the device, and map use", () => {
    // The agent of node A serves /healthz inside node A's namespace: asked from there, it answers.
    const out = run('nsenter', [`--net=/run/netns/${nodeA.ns}`, KPR, 'status', '--bpf-root', agents[0].root.path, '-o', 'json']);
    const s = JSON.parse(out) as { agent: AgentHealth; attachments: AttachmentRow[] } & KernelStatus;
    expect(s.agent).toMatchObject({ address: '127.0.0.1:10256', status: 200 });
    expect(s.devices).toContainEqual(expect.objectContaining({ device: 'eth0', xdp: 'kpr_xdp_lb', xdpMode: 'native', tcIngress: 'kpr_tc_dsr_ingr', tcEgress: 'kpr_tc_dsr_egre' }));
    // Every program where the agent wants it: the socket LB's on its cgroup, the edge LB's on eth0.
    expect(s.attachments.filter((a) => a.where === 'eth0').map((a) => [a.program, a.inPlace])).toEqual([
      ['kpr_xdp_lb', true],
      ['kpr_tc_dsr_ingress', true],
      ['kpr_tc_dsr_egress', true],
    ]);
    expect(s.attachments.filter((a) => a.hook === 'cgroup' && a.inPlace)).toHaveLength(8);
    expect(s.links.map((l) => l.program).sort()).toEqual(expect.arrayContaining(['kpr_connect4', 'kpr_sendmsg4']));
    const frontends = s.maps.find((m) => m.name === 'kpr_edge_frontends');
    expect(frontends).toMatchObject({ type: 'hash', maxEntries: 65536 });
    // The LB IPs, and the node ports on node A's IPv4 addresses: its own and its pod gateway's.
    const nodePortAddresses = [nodeA.ipv4, nodeA.podGateway.ipv4];
    expect(frontends?.entries).toBe(services.length + services.filter((x) => x.nodePort).length * nodePortAddresses.length);
    // Without an agent answering, the same report, and exit status 1.
    const r = spawnSync(KPR, ['status', '--bpf-root', agents[0].root.path, '--healthz-bind-address', '127.0.0.1:1'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^agent: not answering on 127\.0\.0\.1:1 /);
    expect(r.stdout).toMatch(/kpr_edge_flows4 +lru_hash/);
  });

  test('an established flow keeps its backend when the backend set changes; new flows re-hash', async () => {
    const hold = startHold(client, { proto: 'tcp', addr: FLOW.lbIp, port: 80, durationMs: 6000, intervalMs: 100 });
    await hold.waitForEvent('first probe', (e) => e.type === 'probe', 10_000);
    FLOW.endpoints = [endpoint('b1'), endpoint('a1'), endpoint('a2'), endpoint('b2')];
    write(FLOW);
    // New connections spread once both agents have the new set (bounded: 20 rounds).
    let spread: Record<string, number> = {};
    for (let i = 0; i < 20 && Object.keys(spread).length < 2; i++) spread = (await tcp(FLOW.lbIp, 80, 10)).backends;
    expect(Object.keys(spread).length).toBeGreaterThan(1);
    const probes = (await hold.finished()).flatMap((e) => (e.type === 'probe' ? [e] : []));
    expect(probes.length).toBeGreaterThan(20);
    expect(new Set(probes.map((p) => p.backend ?? p.error))).toEqual(new Set(['b1']));
  });
});
