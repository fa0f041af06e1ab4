// A rollback from kpr to kube-proxy loses no established flow from outside.
// Node A runs kpr (snat mode) for a service whose backends are on node A and
// node B; flows from the outside client to its NodePorts, TCP and UDP, both
// families, are established through kpr's XDP program, which carries them
// in its own tables (the node's conntrack never sees a snat flow, and sees a
// flow to a local backend untranslated). Then, as the chart README's
// rollback does it: kube-proxy's rules come back on node A (an old proxy's
// nftables DNAT, tests/helpers/old_proxy_rules.ts), kpr's agent stops, and
// `kpr cleanup` runs in node A's namespace. Cleanup writes every flow into
// the node's conntrack with its translation before it takes the programs
// away (native/src/conntrack_handover.h): each held flow must keep
// answering, from the backend it had, while new flows go through the old
// rules to every backend. The client sits behind a router whose hop towards
// it has a smaller MTU than the rest of the path: the held UDP flows' probes
// are datagrams in fragments, and the held TCP flows' answers are segments
// too big for that hop, which the router answers with an ICMP error that
// must reach the flow's backend (the backends forget what they learnt of the
// path once the flows are handed over, so that they learn it again there).
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { countTranslated } from '../../lib/host/inherited_nat';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { clientReport, HoldClient, Place, runInPlace, startHold } from '../helpers/client_runner';
import { createEdgeTopology, droppedFrames, EdgeHost, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { answering, backendPathMtus, CLIENT_HOP_MTU, flowOutcomes, forgetPathMtus, OUTSIDE_HOLD_SIZES } from '../helpers/held_flow_outcomes';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { nftIn, oldProxyRules, OldProxyPort } from '../helpers/old_proxy_rules';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';

jest.setTimeout(300_000);

const KPR = path.join(repoRoot(), 'bin', 'kpr');
const PORTS: OldProxyPort[] = [
  { proto: 'tcp', port: 80, nodePort: 30180, target: 8080 },
  { proto: 'udp', port: 81, nodePort: 30181, target: 8081 },
];
const FAMILIES = ['ipv4', 'ipv6'] as const;
/** Held flows per protocol and family: 4000 in all. */
const HELD = 1000;
/** New flows through the old rules per protocol and family once kpr is gone: 8000 in all. */
const NEW_FLOWS = 2000;
const PROBE_MS = 2000;
const CONNECT_MS = 10_000;
const HOLD_MS = 240_000;
const OLD_TABLE = 'kprt_kube_proxy';

describe('kpr to kube-proxy: flows kpr\'s XDP program carries survive kpr cleanup', () => {
  let topo: EdgeTopology;
  let manifests: string;
  let clientCgroup: TestCgroup;
  let agent: EdgeNodeAgent | undefined;
  const servers: EchoServer[] = [];
  const holds: { path: string; proto: string; hold: HoldClient }[] = [];
  const nodeA = () => topo.nodes[0];
  const pods = (): EdgeHost[] => topo.nodes.flatMap((n) => n.pods);
  const outside = (): Place => ({ cgroup: clientCgroup.path, ns: topo.client.ns });
  const conntrackA = () => run('ip', ['netns', 'exec', nodeA().ns, 'cat', '/proc/net/nf_conntrack']);

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('handover', 2, { clientHopMtu: CLIENT_HOP_MTU });
    for (const p of pods()) servers.push(await startEchoServer(p.ns, p.name, { tcp: [PORTS[0].target], udp: [PORTS[1].target] }));
    clientCgroup = createTestCgroup('handover-client');
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-handover-'));
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    const endpoints = topo.nodes.flatMap((n) => n.pods.flatMap((p) => [p.ipv4, p.ipv6].map((addr) => ({ addr, node: n.name }))));
    const ports = PORTS.map((p) => ({ name: p.proto, port: p.port, targetPort: p.target, protocol: p.proto.toUpperCase() as 'TCP' | 'UDP', nodePort: p.nodePort }));
    writeManifest(manifests, 'web.yaml', serviceManifest({ namespace: 'apps', name: 'web', clusterIPs: ['198.19.9.70', 'fd00:198:18:1::9:70'], ports, endpoints, extraSpec: { type: 'NodePort' } }));
    agent = await startEdgeNodeAgent(nodeA(), manifests, ['--bpf-lb-mode', 'snat']);
  });

  afterAll(async () => {
    await Promise.all(holds.map((h) => h.hold.stop()));
    await tearDownEdgeTest({ agents: agent ? [agent] : [], servers, topo, clientCgroup, dirs: [manifests] });
  });

  test('4000 held flows (snat and to local backends) keep their backends once kpr cleanup hands them to conntrack; 8000 new flows go through the old rules', async () => {
    const droppedBefore = droppedFrames(topo);
    for (const family of FAMILIES) {
      for (const { proto, nodePort } of PORTS) {
        holds.push({
          path: `outside → NodePort ${family} ${proto}`,
          proto,
          hold: startHold(outside(), {
            proto,
            addr: nodeA()[family],
            port: nodePort,
            durationMs: HOLD_MS,
            intervalMs: PROBE_MS,
            timeoutMs: CONNECT_MS,
            flows: HELD,
            ...OUTSIDE_HOLD_SIZES[proto],
          }),
        });
      }
    }
    for (const h of holds) await h.hold.process.waitUntil(`${h.path}: all ${HELD} flows answering`, () => answering(h.hold) === HELD || undefined, 60_000);
    // kpr carries every one of them: none is translated in the node's conntrack.
    expect(countTranslated(conntrackA())).toBe(0);

    // Rollback step 2: kube-proxy's rules are back, beneath kpr's program.
    nftIn(nodeA().ns, oldProxyRules(OLD_TABLE, nodeA(), { clusterIps: {}, ports: PORTS, backends: pods() }));
    // Two rounds of probes: every flow to a local backend has had a packet
    // reach the stack since, which conntrack now tracks (untranslated).
    const probed = holds.map((h) => h.hold.probes().length);
    await Promise.all(holds.map((h, i) => h.hold.process.waitUntil(`${h.path}: two rounds of probes`, () => h.hold.probes().length >= probed[i] + 2 * HELD || undefined, 30_000)));

    // Step 1 (helm uninstall): the agent stops, its programs stay. Step 3: kpr cleanup.
    await agent!.process.stop('SIGTERM');
    const cleanup = spawnSync('nsenter', [`--net=/run/netns/${nodeA().ns}`, KPR, 'cleanup', '--bpf-root', agent!.root.path], { encoding: 'utf8', timeout: 60_000 });
    const out = cleanup.stdout;
    const failures = out.split('\n').filter((l) => l.startsWith('could not'));
    expect({ status: cleanup.status, stderr: cleanup.stderr, failures }).toEqual({ status: 0, stderr: '', failures: [] });
    const said = /^handed (\d+) flows to the node's conntrack \((\d+) snat, (\d+) to backends on this node, (\d+) of them replacing their untranslated entry\); (\d+) closed ones left out$/m;
    expect(out).toMatch(said);
    const [handed, snat, local, replaced, closed] = said.exec(out)!.slice(1).map(Number);
    expect({ handed, closed }).toEqual({ handed: 4 * HELD, closed: 0 });
    // Both kinds, and every local flow's untranslated entry replaced.
    expect({ snat: snat > HELD, local: local > HELD, replaced }).toEqual({ snat: true, local: true, replaced: local });
    expect(countTranslated(conntrackA())).toBeGreaterThanOrEqual(4 * HELD);
    expect(run('ip', ['-n', nodeA().ns, 'link', 'show', 'dev', nodeA().device])).not.toContain('prog/xdp');
    // The backends learnt the client hop's MTU from kpr's translation of the
    // router's errors; from now on conntrack's must teach them.
    forgetPathMtus(topo);
    expect(backendPathMtus(topo)).toEqual(pods().flatMap((p) => FAMILIES.map((family) => ({ pod: p.name, family, mtu: undefined }))));

    // The old rules serve new flows, to every backend, while the held flows are probed.
    const probedAfterCleanup = holds.map((h) => h.hold.probes().length);
    for (const family of FAMILIES) {
      for (const { proto, nodePort } of PORTS) {
        const mode = proto === 'tcp' ? 'tcp' : 'udp-connected-new-socket';
        const proc = await runInPlace(outside(), clientArgs(mode, nodeA()[family], nodePort), 120_000);
        const report = clientReport(proc);
        expect({ family, proto, answered: Object.values(report.backends).reduce((a, b) => a + b, 0), backends: Object.keys(report.backends).sort(), errors: report.errors }).toEqual({
          family, proto, answered: NEW_FLOWS, backends: pods().map((p) => p.name).sort(), errors: {},
        });
      }
    }
    const probedAfterNew = holds.map((h) => h.hold.probes().length);
    await Promise.all(holds.map((h, i) => h.hold.process.waitUntil(`${h.path}: two rounds of probes after the new flows`, () => h.hold.probes().length >= probedAfterNew[i] + 2 * HELD || undefined, 30_000)));
    expect(holds.map((h, i) => h.hold.probes().length - probedAfterCleanup[i] >= 2 * HELD)).toEqual(holds.map(() => true));
    await Promise.all(holds.map((h) => h.hold.stop()));
    const dropped = droppedFrames(topo) - droppedBefore;
    const outcomes = holds.map((h) => ({ path: h.path, ...flowOutcomes(h.hold.events(), undefined, h.proto === 'udp') }));
    expect(outcomes.map((o) => ({ path: o.path, flows: o.flows, broken: o.broken, moved: o.moved, spread: o.backends.size > 1, errors: o.errors }))).toEqual(
      holds.map((h) => ({ path: h.path, flows: HELD, broken: 0, moved: 0, spread: true, errors: {} })),
    );
    // A UDP exchange a held flow lost and answered after is a frame the test's links dropped.
    expect(outcomes.reduce((sum, o) => sum + o.lost, 0)).toBeLessThanOrEqual(dropped);
    // The errors reached the backends through conntrack: each learnt the hop's
    // MTU again, towards the client (its own replies) or node A (snat's).
    expect(backendPathMtus(topo)).toEqual(pods().flatMap((p) => FAMILIES.map((family) => ({ pod: p.name, family, mtu: CLIENT_HOP_MTU }))));
  });

  function clientArgs(mode: string, addr: string, port: number): string[] {
    return [process.execPath, path.join(__dirname, '..', 'helpers', 'client.js'), mode, '--addr', addr, '--port', String(port), '--count', String(NEW_FLOWS), '--timeout-ms', '2000', '--deadline-ms', '110000'];
  }
});
