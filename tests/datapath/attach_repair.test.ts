// Self-repair of the attachments (issue 12): on the two-node edge topology,
// with an agent on each node and a bounded load through a NodePort (XDP on
// node A, from the outside client) and a ClusterIP (the socket LB, from a
// process of node A), the programs are taken off their hooks behind the
// agent's back: XDP detached, the tc filters deleted, XDP replaced by
// another program, a cgroup link detached and another unpinned. Before the
// next full sync `kpr status` names what is missing and exits 1 and
// kpr_bpf_program_attached reads 0; the full sync puts it back (logged,
// counted), and the traffic that the fault broke flows again. A full sync
// that finds everything in place attaches nothing.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { pinPaths } from '../../lib/host/bpffs';
import { repoRoot } from '../../lib/datapath/native';
import { AttachmentRow } from '../../lib/cli/status_report';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { PacedConnections, LoadTarget } from '../helpers/background_load';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { ClientReport } from '../helpers/client_report';
import { runClient } from '../helpers/client_runner';
import { createEdgeTopology, EdgeNode, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { LineProcess } from '../helpers/line_process';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { ip, run } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';
import { sleep } from '../helpers/sleep';

jest.setTimeout(240_000);

const KPR = path.join(repoRoot(), 'bin', 'kpr');
const PASS_PROGRAM = path.join(repoRoot(), 'build', 'xdp_pass.o');
const TARGET_PORT = 8080;
const NODE_PORT = 30080;
const CLUSTER_IP = '198.19.8.10';
/** --sync-period: a full sync, and so a check, this often. */
const SYNC_MS = 4000;
/** A check's line: all in place, or a program put back (or not). */
const CHECK_LINE = /attach: (all \d+ programs in place|re-attached|re-attaching)/;
const IN_PLACE_LINE = /attach: all (\d+) programs in place/;
/** The socket LB's 8 cgroup programs and the edge LB's 3 on eth0. */
const PROGRAMS = 11;
/** Per target: new connections a second, bounded by LOAD_MAX_MS. */
const LOAD = { connectionsPerSecond: 100, maxMs: 40_000 };
/** Load before a fault and after its repair; longer than a connection's 2 s timeout. */
const STEADY_MS = 2500;
const EXCHANGE_TIMEOUT_MS = 2000;
/** Connections at least in each steady stretch, per target: half the rate. */
const MIN_STEADY = (LOAD.connectionsPerSecond * STEADY_MS) / 2000;
const METRICS = 'http://127.0.0.1:10249/metrics';

type Labels = Record<string, string>;

/** The value of one series of a Prometheus text exposition; undefined: no such series. */
function seriesValue(text: string, name: string, labels: Labels): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('self-repair of attachments under load', () => {
  let topo: EdgeTopology;
  let manifests: string;
  let clientCgroup: TestCgroup;
  let nodeA: EdgeNode;
  const servers: EchoServer[] = [];
  const agents: EdgeNodeAgent[] = [];

  const inNode = (node: EdgeNode, cmd: string, args: string[]) => spawnSync('nsenter', [`--net=/run/netns/${node.ns}`, cmd, ...args], { encoding: 'utf8', timeout: 20_000 });
  const scrape = (node: EdgeNode): string => run('nsenter', [`--net=/run/netns/${node.ns}`, 'curl', '-sf', '--max-time', '5', METRICS]);
  const status = (i: number) => inNode(topo.nodes[i], KPR, ['status', '--bpf-root', agents[i].root.path, '-o', 'json']);
  const agentA = () => agents[0].process;
  const rootA = () => agents[0].root;

  /** The agent's next check line after the lines it has logged so far. */
  function nextCheck(agent: LineProcess, from = agent.lines.length, timeoutMs = 2 * SYNC_MS + 5000): Promise<{ line: string; index: number }> {
    return agent.waitUntil(
      'the next attachment check',
      () => {
        const i = agent.lines.findIndex((l, n) => n >= from && CHECK_LINE.test(l));
        return i < 0 ? undefined : { line: agent.lines[i], index: i };
      },
      timeoutMs,
    );
  }

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('attach', 1);
    nodeA = topo.nodes[0];
    for (const n of topo.nodes) for (const p of n.pods) servers.push(await startEchoServer(p.ns, p.name, { tcp: [TARGET_PORT] }));
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-attach-'));
    clientCgroup = createTestCgroup('attach-client');
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    const endpoints = topo.nodes.flatMap((n) => n.pods.map((p) => ({ addr: p.ipv4, node: n.name })));
    const port = { name: 'p', port: 80, targetPort: TARGET_PORT, protocol: 'TCP' as const, nodePort: NODE_PORT };
    writeManifest(manifests, 'web.yaml', serviceManifest({ namespace: 'attach', name: 'web', clusterIPs: [CLUSTER_IP], ports: [port], endpoints, extraSpec: { type: 'NodePort' } }));
    for (const node of topo.nodes) {
      agents.push(await startEdgeNodeAgent(node, manifests, ['--sync-period', `${SYNC_MS / 1000}s`, '--log-level', 'debug']));
    }
    // Every program of both nodes in place before anything is taken away.
    for (const a of agents) expect((await nextCheck(a.process, 0)).line).toMatch(new RegExp(`attach: all ${PROGRAMS} programs in place`));
  });

  afterAll(() => tearDownEdgeTest({ agents, servers, topo, clientCgroup, dirs: [manifests] }));

  /** The NodePort from outside (XDP on node A), the ClusterIP from a process of node A (its agent's cgroup). */
  function targets(): LoadTarget[] {
    return [
      { name: 'NodePort', addr: nodeA.ipv4, port: NODE_PORT, place: { cgroup: clientCgroup.path, ns: topo.client.ns } },
      { name: 'ClusterIP', addr: CLUSTER_IP, port: 80, place: { cgroup: agents[0].cgroup.path, ns: nodeA.ns } },
    ];
  }

  interface Repaired {
    /** What the programs taken off were, as kpr status -o json listed them before the repair. */
    missing: AttachmentRow[];
    /** kpr status' exit status then. */
    statusCode: number | null;
    /** kpr_bpf_program_attached of each program taken off, before and after the repair. */
    gaugeBefore: number[];
    gaugeAfter: number[];
    /** kpr_bpf_program_reattachments_total of each, before the fault and after the repair. */
    countBefore: number[];
    countAfter: number[];
    /** The agent's lines from the fault to the first check that found everything in place again. */
    checkLines: string[];
    /** From the fault to the check that put everything back. */
    repairMs: number;
    reports: Record<string, ClientReport & { faultAt: number; repairedAt: number }>;
  }

  /** Takes programs off node A while the load runs, right after a check, and
   *  follows them until the next check has put them back. */
  async function faultUnderLoad(takeOff: () => void, programs: { program: string; attachPoint: () => string }[]): Promise<Repaired> {
    const labels = () => programs.map((p) => ({ program: p.program, attach_point: p.attachPoint() }));
    const series = (text: string, name: string) => labels().map((l) => seriesValue(text, name, l) ?? NaN);
    const countBefore = series(scrape(nodeA), 'kpr_bpf_program_reattachments_total');
    const loads = targets().map((t) => ({ t, load: new PacedConnections(t, LOAD.connectionsPerSecond, LOAD.maxMs) }));
    let faultAt = 0;
    let repairedAt = 0;
    try {
      // A steady stretch whose connections all ended before the fault.
      await sleep(STEADY_MS + EXCHANGE_TIMEOUT_MS);
      // Right after a check: the next one is a whole --sync-period away.
      await nextCheck(agentA());
      const from = agentA().lines.length;
      faultAt = Date.now();
      takeOff();
      const before = status(0);
      const gaugeBefore = series(scrape(nodeA), 'kpr_bpf_program_attached');
      await nextCheck(agentA(), from);
      repairedAt = Date.now();
      // The next check must find everything in place.
      const settled = await agentA().waitUntil('a check with everything in place', () => {
        const i = agentA().lines.findIndex((l, n) => n >= from && IN_PLACE_LINE.test(l));
        return i < 0 ? undefined : { index: i };
      }, 2 * SYNC_MS + 5000);
      expect(agentA().lines[settled.index]).toMatch(`attach: all ${PROGRAMS} programs in place`);
      const after = scrape(nodeA);
      await sleep(STEADY_MS);
      const reports = Object.fromEntries(await Promise.all(loads.map(async (l) => [l.t.name, { ...(await l.load.stop()), faultAt, repairedAt }] as const)));
      const missing = (JSON.parse(before.stdout) as { attachments: AttachmentRow[] }).attachments.filter((a) => !a.inPlace);
      return {
        missing,
        statusCode: before.status,
        gaugeBefore,
        gaugeAfter: series(after, 'kpr_bpf_program_attached'),
        countBefore,
        countAfter: series(after, 'kpr_bpf_program_reattachments_total'),
        checkLines: agentA().lines.slice(from, settled.index),
        repairMs: repairedAt - faultAt,
        reports,
      };
    } catch (e) {
      await Promise.all(loads.map((l) => l.load.stop().catch(() => undefined)));
      throw e;
    }
  }

  /** Every connection that ended before the fault, and every one that began
   *  after the repair, was answered; the broken target failed in between. */
  function expectRepairedTraffic(r: Repaired, broken: string): void {
    for (const [name, rep] of Object.entries(r.reports)) {
      const ok = (x: { error?: string; backend?: string }) => x.error === undefined && x.backend !== undefined;
      const at = (x: { at?: number }) => x.at ?? NaN;
      expect(rep.results.filter((x) => Number.isNaN(at(x)))).toEqual([]);
      const before = rep.results.filter((x) => at(x) < rep.faultAt - EXCHANGE_TIMEOUT_MS);
      const after = rep.results.filter((x) => at(x) > rep.repairedAt);
      const during = rep.results.filter((x) => at(x) >= rep.faultAt && at(x) <= rep.repairedAt);
      expect({ name, before: before.length >= MIN_STEADY, after: after.length >= MIN_STEADY }).toEqual({ name, before: true, after: true });
      const failed = (xs: typeof before) => xs.filter((x) => !ok(x)).map((x) => `${x.error ?? 'no backend'} at ${at(x) - rep.faultAt}ms`);
      expect({ name, failedBefore: failed(before), failedAfter: failed(after) }).toEqual({ name, failedBefore: [], failedAfter: [] });
      // The fault was real: the target it hits failed until the repair; the other never did.
      if (name === broken) expect(during.filter((x) => !ok(x)).length).toBeGreaterThan(0);
      else expect({ name, failed: rep.results.filter((x) => !ok(x)).length }).toEqual({ name, failed: 0 });
    }
  }

  /** One line of figures per fault, for the README's reliability section. */
  function printFigures(fault: string, r: Repaired): void {
    const targets = Object.entries(r.reports).map(([name, rep]) => `${name}: ${rep.results.length} connections, ${rep.results.filter((x) => x.error !== undefined).length} failed`);
    process.stdout.write(`attach repair: ${fault}: put back ${r.repairMs} ms after the fault (--sync-period ${SYNC_MS / 1000}s); ${targets.join('; ')}\n`);
  }

  function expectRepair(r: Repaired, found: Record<string, RegExp>): void {
    expect(r.statusCode).toBe(1);
    expect(r.missing.map((m) => m.program).sort()).toEqual(Object.keys(found).sort());
    for (const m of r.missing) expect(m.found).toMatch(found[m.program]);
    expect(r.gaugeBefore).toEqual(r.gaugeBefore.map(() => 0));
    expect(r.gaugeAfter).toEqual(r.gaugeAfter.map(() => 1));
    expect(r.countAfter).toEqual(r.countBefore.map((n) => n + 1));
    // Put back by the first full sync after the fault (all its lines after the
    // one full sync's "maps checked", before the next's), each with what it found instead.
    const checks = r.checkLines.filter((l) => CHECK_LINE.test(l));
    expect(checks).toHaveLength(Object.keys(found).length);
    for (const line of checks) expect(line).toMatch(/warn attach: re-attached \S+ \(\S+\) on \S+; found instead: /);
    const syncs = r.checkLines.map((l, i) => (/maps (checked|re-read)/.test(l) ? i : -1)).filter((i) => i >= 0);
    expect(syncs).toHaveLength(2);
    const repairedBy = r.checkLines.map((l, i) => (CHECK_LINE.test(l) ? i : -1)).filter((i) => i >= 0);
    expect(repairedBy.every((i) => i > syncs[0] && i < syncs[1])).toBe(true);
    expect(r.repairMs).toBeLessThan(SYNC_MS + 1500);
  }

  test('XDP detached (ip link set dev eth0 xdp off): named by kpr status, put back at the next full sync', async () => {
    const r = await faultUnderLoad(() => ip('-n', nodeA.ns, 'link', 'set', 'dev', nodeA.device, 'xdp', 'off'), [{ program: 'kpr_xdp_lb', attachPoint: () => nodeA.device }]);
    printFigures('XDP detached', r);
    expectRepair(r, { kpr_xdp_lb: /^no XDP program$/ });
    expect(r.checkLines.join('\n')).toContain('warn attach: re-attached kpr_xdp_lb (xdp) on eth0; found instead: no XDP program');
    expectRepairedTraffic(r, 'NodePort');
    expect(ip('-n', nodeA.ns, 'link', 'show', nodeA.device)).toMatch(/prog\/xdp id \d+ name kpr_xdp_lb/);
  });

  test('tc filters deleted (tc filter del, ingress and egress): both put back', async () => {
    const r = await faultUnderLoad(
      () => {
        for (const dir of ['ingress', 'egress']) run('tc', ['-n', nodeA.ns, 'filter', 'del', 'dev', nodeA.device, dir]);
      },
      [
        { program: 'kpr_tc_dsr_ingress', attachPoint: () => nodeA.device },
        { program: 'kpr_tc_dsr_egress', attachPoint: () => nodeA.device },
      ],
    );
    printFigures('tc filters deleted', r);
    expectRepair(r, { kpr_tc_dsr_ingress: /^no tc ingress filter in kpr's slot/, kpr_tc_dsr_egress: /^no tc egress filter in kpr's slot/ });
    // Replies of node A's own backend lose their translation without tc egress.
    expectRepairedTraffic(r, 'NodePort');
  });

  test("XDP replaced by another program (xdp_pass): put back in its place, the other program named", async () => {
    const r = await faultUnderLoad(
      () => run('ip', ['-n', nodeA.ns, '-force', 'link', 'set', 'dev', nodeA.device, 'xdpdrv', 'obj', PASS_PROGRAM, 'sec', 'xdp']),
      [{ program: 'kpr_xdp_lb', attachPoint: () => nodeA.device }],
    );
    printFigures('XDP replaced by xdp_pass', r);
    expectRepair(r, { kpr_xdp_lb: /^XDP program xdp_pass \(id \d+\)$/ });
    expectRepairedTraffic(r, 'NodePort');
  });

  test('a cgroup link detached (bpftool link detach) and another unpinned: both links made anew', async () => {
    const links = pinPaths(rootA().path).links;
    const r = await faultUnderLoad(
      () => {
        run('bpftool', ['link', 'detach', 'pinned', path.join(links, 'kpr_connect4')]);
        fs.rmSync(path.join(links, 'kpr_sendmsg4'));
      },
      [
        { program: 'kpr_connect4', attachPoint: () => agents[0].cgroup.path },
        { program: 'kpr_sendmsg4', attachPoint: () => agents[0].cgroup.path },
      ],
    );
    printFigures('cgroup links detached and unpinned', r);
    expectRepair(r, { kpr_connect4: /^its link, detached from the cgroup$/, kpr_sendmsg4: /^no link pinned$/ });
    expectRepairedTraffic(r, 'ClusterIP');
    const pinned = JSON.parse(run('bpftool', ['-j', 'link', 'show', 'pinned', path.join(links, 'kpr_connect4')])) as { cgroup_id?: number };
    expect(pinned.cgroup_id).toBe(fs.statSync(agents[0].cgroup.path).ino);
  });

  test('a full sync that finds everything in place attaches nothing; status is clean; both nodes serve', async () => {
    const counters = (node: EdgeNode) => scrape(node).split('\n').filter((l) => l.startsWith('kpr_bpf_program_reattachments_total{')).sort();
    const links = pinPaths(rootA().path).links;
    const linkIds = () => (JSON.parse(run('bpftool', ['-j', 'link', 'show'])) as { id: number; cgroup_id?: number }[]).filter((l) => l.cgroup_id === fs.statSync(agents[0].cgroup.path).ino).map((l) => l.id).sort();
    const before = { counters: counters(nodeA), links: linkIds(), device: ip('-n', nodeA.ns, '-d', 'link', 'show', nodeA.device) };
    expect(before.counters).toHaveLength(PROGRAMS);
    expect(before.links).toHaveLength(8);
    // Two whole checks.
    const first = await nextCheck(agentA());
    const second = await nextCheck(agentA(), first.index + 1);
    for (const c of [first, second]) expect(c.line).toMatch(IN_PLACE_LINE);
    expect({ counters: counters(nodeA), links: linkIds(), device: ip('-n', nodeA.ns, '-d', 'link', 'show', nodeA.device) }).toEqual(before);
    expect(fs.readdirSync(links)).toHaveLength(8);
    // Node B lost nothing, so it repaired nothing.
    const nodeB = counters(topo.nodes[1]);
    expect(nodeB).toHaveLength(PROGRAMS);
    expect(nodeB.filter((l) => !l.endsWith(' 0'))).toEqual([]);
    for (const i of [0, 1]) {
      const s = status(i);
      expect(s.status).toBe(0);
      const rows = (JSON.parse(s.stdout) as { attachments: AttachmentRow[] }).attachments;
      expect(rows).toHaveLength(PROGRAMS);
      expect(rows.every((a) => a.inPlace)).toBe(true);
    }
    const table = inNode(nodeA, KPR, ['status', '--bpf-root', rootA().path]);
    expect(table.stdout).toContain(`programs: all ${PROGRAMS} where the agent wants them`);
    // The NodePort balances over both nodes' backends again, and the ClusterIP serves node A's processes.
    const nodePort = await runClient({ cgroup: clientCgroup.path, ns: topo.client.ns }, { mode: 'tcp', addr: nodeA.ipv4, port: NODE_PORT, count: 200 });
    expect(nodePort.errors).toEqual({});
    expect(Object.keys(nodePort.backends).sort()).toEqual(['a1', 'b1']);
    const clusterIp = await runClient({ cgroup: agents[0].cgroup.path, ns: nodeA.ns }, { mode: 'tcp', addr: CLUSTER_IP, port: 80, count: 200 });
    expect(clusterIp.errors).toEqual({});
  });
});
