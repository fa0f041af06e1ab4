// A migration from kube-proxy to kpr loses no established flow. Node A first
// runs an old proxy's rules (nftables DNAT, as kube-proxy's nftables mode
// writes them: a random pick per connection, masquerade towards other nodes)
// for a service's NodePorts and ClusterIP, TCP and UDP, both families, and
// flows are established through them: from the outside client to the
// NodePorts, and from node A's own processes to the ClusterIP. Then kpr
// starts on node A, serving the same service (XDP on its device, socket LB
// on the cgroup of those processes), and the old rules are deleted as
// `kube-proxy --cleanup` does. Every held flow must keep answering, from the
// backend it had, while new flows go through kpr: kpr's XDP leaves the old
// flows' packets to the stack (bpf/include/kpr_node_conntrack.h) and the
// agent keeps nf_nat's hooks registered for them (lib/host/inherited_nat.ts)
// until they are gone, then deletes its table. The outside client sits behind
// a router whose hop towards it has a smaller MTU: its held UDP flows' probes
// are datagrams in fragments, and its held TCP flows' answers are segments
// too big for that hop, whose ICMP errors kpr's XDP program must leave to
// conntrack too (the backends forget the path's MTU once kpr is there, so
// that they learn it again through kpr).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startAgent } from '../helpers/agent';
import { BpfRoot, createBpfRoot } from '../helpers/bpf_root';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { HoldClient, Place, runInPlace, startHold, clientReport } from '../helpers/client_runner';
import { createEdgeTopology, droppedFrames, EdgeHost, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { LineProcess } from '../helpers/line_process';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { answering, backendPathMtus, CLIENT_HOP_MTU, flowOutcomes, forgetPathMtus, OUTSIDE_HOLD_SIZES } from '../helpers/held_flow_outcomes';
import { nftIn, oldProxyRules } from '../helpers/old_proxy_rules';
import { assertPrivileged } from '../helpers/preflight';
import { ip, run } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';
import { conntrackTuples, INHERITED_NAT_TABLE } from '../../lib/host/inherited_nat';
import { localPortRange } from '../../lib/host/local_port_range';
import { canonicalIp } from '../../lib/model/ip_address';

jest.setTimeout(300_000);

const TCP_TARGET = 8080;
const UDP_TARGET = 8081;
const PORTS = { tcp: { port: 80, nodePort: 30080, target: TCP_TARGET }, udp: { port: 81, nodePort: 30081, target: UDP_TARGET } };
const CLUSTER_IPS = { ipv4: '198.19.9.60', ipv6: 'fd00:198:18:1::9:60' };
const FAMILIES = ['ipv4', 'ipv6'] as const;
const PROTOS = ['tcp', 'udp'] as const;
/** Held flows per path, protocol and family: 4000 in all. */
const HELD = 500;
/** New flows through kpr per path, protocol and family once the old rules are gone: 16000 in all. */
const NEW_FLOWS = 2000;
const PROBE_MS = 2000;
/** A held flow's connect (its probes wait PROBE_MS): 8 clients starting at once on a busy machine. */
const CONNECT_MS = 10_000;
const HOLD_MS = 240_000;
const OLD_TABLE = 'kprt_old_proxy';
/** UDP probes per path that may be lost while the XDP program is first attached (of 500 flows). */
const MAX_ATTACH_LOSSES = 2;

describe('kube-proxy to kpr: flows the old rules translated survive kpr and the old rules\' removal', () => {
  let topo: EdgeTopology;
  let manifests: string;
  let clientCgroup: TestCgroup;
  let nodeCgroup: TestCgroup;
  let root: BpfRoot;
  let agent: LineProcess | undefined;
  const servers: EchoServer[] = [];
  const holds: { path: string; proto: string; startedAt: number; hold: HoldClient }[] = [];
  const nodeA = () => topo.nodes[0];
  const pods = (): EdgeHost[] => topo.nodes.flatMap((n) => n.pods);
  const outside = (): Place => ({ cgroup: clientCgroup.path, ns: topo.client.ns });
  const onNodeA = (): Place => ({ cgroup: nodeCgroup.path, ns: nodeA().ns });
  const nftA = (script: string) => nftIn(nodeA().ns, script);
  const oldRules = () => oldProxyRules(OLD_TABLE, nodeA(), { clusterIps: CLUSTER_IPS, ports: PROTOS.map((proto) => ({ proto, ...PORTS[proto] })), backends: pods() });

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('inhnat', 2, { clientHopMtu: CLIENT_HOP_MTU });
    for (const p of pods()) servers.push(await startEchoServer(p.ns, p.name, { tcp: [TCP_TARGET], udp: [UDP_TARGET] }));
    clientCgroup = createTestCgroup('inhnat-client');
    nodeCgroup = createTestCgroup('inhnat-nodea');
    root = createBpfRoot('inhnat-a');
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-inhnat-'));
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    const endpoints = topo.nodes.flatMap((n) => n.pods.flatMap((p) => [p.ipv4, p.ipv6].map((addr) => ({ addr, node: n.name }))));
    const ports = PROTOS.map((proto) => ({ name: proto, port: PORTS[proto].port, targetPort: PORTS[proto].target, protocol: proto.toUpperCase() as 'TCP' | 'UDP', nodePort: PORTS[proto].nodePort }));
    writeManifest(manifests, 'web.yaml', serviceManifest({ namespace: 'apps', name: 'web', clusterIPs: [CLUSTER_IPS.ipv4, CLUSTER_IPS.ipv6], ports, endpoints, extraSpec: { type: 'NodePort' } }));
    // A node has a default route, which is all a ClusterIP needs before its translation.
    for (const family of FAMILIES) ip('-n', nodeA().ns, 'route', 'add', CLUSTER_IPS[family], 'dev', nodeA().device);
    // Node A forwards; its closed connections' and idle UDP flows' conntrack
    // entries go within seconds once the holds end, so that the test sees
    // kpr's table deleted (held UDP flows are probed more often than this).
    for (const [key, value] of Object.entries({ tcp_timeout_time_wait: 1, tcp_timeout_close: 1, tcp_timeout_fin_wait: 1, tcp_timeout_last_ack: 1, tcp_timeout_close_wait: 1, udp_timeout: 5, udp_timeout_stream: 5 })) {
      run('ip', ['netns', 'exec', nodeA().ns, 'sysctl', '-q', '-w', `net.netfilter.nf_conntrack_${key}=${value}`]);
    }
  });

  afterAll(async () => {
    await Promise.all(holds.map((h) => h.hold.stop()));
    await agent?.stop('SIGKILL');
    root?.destroy();
    nodeCgroup?.destroy();
    await tearDownEdgeTest({ servers, topo, clientCgroup, dirs: [manifests] });
  });

  test('4000 held flows keep their backends through kpr\'s start and the old rules\' removal; 16000 new flows go through kpr; kpr\'s nat table goes with the last old flow', async () => {
    nftA(oldRules());
    const droppedBefore = droppedFrames(topo);
    // Flows through the old rules alone.
    for (const family of FAMILIES) {
      for (const proto of PROTOS) {
        const { port, nodePort } = PORTS[proto];
        holds.push({ path: `outside → NodePort ${family} ${proto}`, proto, startedAt: Date.now(), hold: startHold(outside(), { proto, addr: nodeA()[family], port: nodePort, durationMs: HOLD_MS, intervalMs: PROBE_MS, timeoutMs: CONNECT_MS, flows: HELD, ...OUTSIDE_HOLD_SIZES[proto] }) });
        holds.push({ path: `node A → ClusterIP ${family} ${proto}`, proto, startedAt: Date.now(), hold: startHold(onNodeA(), { proto, addr: CLUSTER_IPS[family], port, durationMs: HOLD_MS, intervalMs: PROBE_MS, timeoutMs: CONNECT_MS, flows: HELD }) });
      }
    }
    // Every flow answered once: established through the old rules.
    for (const h of holds) {
      await h.hold.process.waitUntil(`${h.path}: all ${HELD} flows answering`, () => answering(h.hold) === HELD || undefined, 60_000).catch((e: Error) => {
        const errors = h.hold.events().flatMap((ev) => (ev.type === 'error' || (ev.type === 'probe' && !ev.ok) ? [`${ev.flow}:${ev.error}`] : []));
        throw new Error(`${h.path}: ${answering(h.hold)} of ${HELD} flows answering; errors ${[...new Set(errors)].slice(0, 20).join(' ')}\n${e.message.slice(0, 300)}`);
      });
    }

    const agentStart = Date.now();
    agent = await startAgent({
      manifests,
      bpfRoot: root.path,
      cgroupRoot: nodeCgroup.path,
      netns: nodeA().ns,
      args: ['--hostname-override', nodeA().name, '--devices', nodeA().device, '--sync-period', '2s'],
    });
    const kept = agent.lines.map((l) => /inherited NAT: (\d+) connections/.exec(l)).find((m) => m);
    expect(Number(kept?.[1])).toBeGreaterThanOrEqual(holds.length * HELD);
    expect(inheritedGauge()).toBeGreaterThanOrEqual(holds.length * HELD);
    run('ip', ['netns', 'exec', nodeA().ns, 'nft', 'list', 'table', 'inet', INHERITED_NAT_TABLE]);

    // A datagram in flight while the XDP program is first attached to a veth
    // may be lost (the driver switches its receive path; measured: one probe
    // of about 40000, sent while the agent started, in 2 of some 15 runs):
    // UDP probes sent then are counted apart, at most MAX_ATTACH_LOSSES per path.
    const attaching = { from: agentStart, to: Date.now() };
    // kube-proxy --cleanup: the old rules go.
    nftA(`delete table inet ${OLD_TABLE}\n`);
    // The backends learnt the client hop's MTU through the old rules alone; from now on through kpr.
    forgetPathMtus(topo);
    expect(backendPathMtus(topo)).toEqual(pods().flatMap((p) => FAMILIES.map((family) => ({ pod: p.name, family, mtu: undefined }))));
    const probedBefore = holds.map((h) => h.hold.probes().length);

    // New flows: kpr's, the socket LB's and XDP's, while the old ones are probed.
    // Node A's own connections whose tuple clashes with a held flow's
    // masquerade are moved to another source port by nf_nat: gathered after
    // each round (a UDP one lasts 5 s in conntrack).
    const moved = new Map<string, number>();
    for (const family of FAMILIES) {
      for (const proto of PROTOS) {
        const mode = proto === 'tcp' ? 'tcp' : 'udp-connected-new-socket';
        const { port, nodePort } = PORTS[proto];
        const [viaNodePort, viaClusterIp] = await Promise.all([
          runInPlace(outside(), clientArgs(mode, nodeA()[family], nodePort), 120_000),
          runInPlace(onNodeA(), clientArgs(mode, CLUSTER_IPS[family], port), 120_000),
        ]);
        for (const [connection, port] of movedConnections()) moved.set(connection, port);
        for (const [what, proc] of [['NodePort', viaNodePort], ['ClusterIP', viaClusterIp]] as const) {
          const report = clientReport(proc);
          expect({ what, family, proto, answered: Object.values(report.backends).reduce((a, b) => a + b, 0), backends: Object.keys(report.backends).sort(), errors: report.errors }).toEqual({
            what, family, proto, answered: NEW_FLOWS, backends: pods().map((p) => p.name).sort(), errors: {},
          });
        }
      }
    }
    // Some were moved, each within node A's local port range: not onto the
    // edge LB's snat ports, where a backend's reply would go to a NodePort client.
    const local = localPortRange(run('ip', ['netns', 'exec', nodeA().ns, 'cat', '/proc/sys/net/ipv4/ip_local_port_range']));
    expect(moved.size).toBeGreaterThan(0);
    expect([...moved].filter(([, port]) => port < local.min || port > local.max).map(([connection, port]) => `${connection} -> ${port}`)).toEqual([]);
    // Two more rounds of probes after the new flows.
    const probedAfter = holds.map((h) => h.hold.probes().length);
    await Promise.all(holds.map((h, i) => h.hold.process.waitUntil(`${h.path}: two rounds of probes after the new flows`, () => h.hold.probes().length >= probedAfter[i] + 2 * HELD || undefined, 30_000)));
    // Every flow was probed after the cleanup (more than two rounds: the new flows took a while).
    expect(holds.map((h, i) => h.hold.probes().length - probedBefore[i] >= 2 * HELD)).toEqual(holds.map(() => true));
    await Promise.all(holds.map((h) => h.hold.stop()));
    const dropped = droppedFrames(topo) - droppedBefore;
    const outcomes = holds.map((h) => {
      // Hold-relative times; its process started after startedAt, so the window only widens.
      const window = h.proto === 'udp' ? { from: attaching.from - h.startedAt - 1000, to: attaching.to - h.startedAt } : undefined;
      return { path: h.path, ...flowOutcomes(h.hold.events(), window, h.proto === 'udp') };
    });
    expect(outcomes.map((o) => ({ path: o.path, flows: o.flows, broken: o.broken, moved: o.moved, attachLossesWithinBound: o.excused <= MAX_ATTACH_LOSSES, spread: o.backends.size > 1, errors: o.errors }))).toEqual(
      holds.map((h) => ({ path: h.path, flows: HELD, broken: 0, moved: 0, attachLossesWithinBound: true, spread: true, errors: {} })),
    );
    // A UDP exchange a held flow lost and answered after is a frame the test's links dropped.
    expect(outcomes.reduce((sum, o) => sum + o.lost, 0)).toBeLessThanOrEqual(dropped);
    // The router's errors reached the backends: each learnt the hop's MTU again,
    // towards the client (a backend on node A) or node A (masqueraded, from node B).
    expect(backendPathMtus(topo)).toEqual(pods().flatMap((p) => FAMILIES.map((family) => ({ pod: p.name, family, mtu: CLIENT_HOP_MTU }))));

    // The old flows gone from conntrack (closed; UDP idle 5 s): kpr's table goes too.
    await agent.waitForLine('the inherited NAT table deleted', (l) => l.includes(`table inet ${INHERITED_NAT_TABLE} deleted`), 60_000);
    expect(run('ip', ['netns', 'exec', nodeA().ns, 'nft', 'list', 'tables'])).not.toContain(INHERITED_NAT_TABLE);
    expect(inheritedGauge()).toBe(0);
  });

  /** Node A's connections to a backend itself (the socket LB's, translated at
   *  connect) whose source port nf_nat moved: `source port` and the port it moved to. */
  function movedConnections(): [string, number][] {
    const backends = new Set(pods().flatMap((p) => [p.ipv4, p.ipv6]));
    const text = run('ip', ['netns', 'exec', nodeA().ns, 'cat', '/proc/net/nf_conntrack']);
    return text.split('\n').flatMap((line): [string, number][] => {
      const t = conntrackTuples(line);
      if (!t || !backends.has(canonicalIp(t.original.dst) ?? '') || t.original.sport === t.reply.dport) return [];
      return [[`${canonicalIp(t.original.src)} ${t.original.sport}`, Number(t.reply.dport)]];
    });
  }

  /** kpr_inherited_nat_connections as node A's agent serves it (default metrics address). */
  function inheritedGauge(): number {
    const text = run('ip', ['netns', 'exec', nodeA().ns, 'curl', '-s', '--max-time', '5', 'http://127.0.0.1:10249/metrics']);
    return Number(/^kpr_inherited_nat_connections (\S+)$/m.exec(text)?.[1]);
  }

  function clientArgs(mode: string, addr: string, port: number): string[] {
    return [process.execPath, path.join(__dirname, '..', 'helpers', 'client.js'), mode, '--addr', addr, '--port', String(port), '--count', String(NEW_FLOWS), '--timeout-ms', '2000', '--deadline-ms', '110000'];
  }
});
