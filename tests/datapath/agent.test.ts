// The agent as an operator meets it: bad input, restarts without an agent,
// its own bpffs, and two agents side by side on one machine.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as yaml from 'js-yaml';
import * as os from 'os';
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { startAgent } from '../helpers/agent';
import { removeBpfRoot } from '../helpers/bpf_root';
import { runClient } from '../helpers/client_runner';
import { serviceManifest } from '../helpers/manifests';
import { waitFor } from '../helpers/sleep';
import { assertPrivileged } from '../helpers/preflight';
import { EchoServer, startEchoServers } from '../helpers/servers';
import { createTopology, Topology } from '../helpers/topology';
import { LbFixture } from './lb_fixture';

jest.setTimeout(60_000);

const PORT = 8080;
const BPF_FS_MAGIC = 0xcafe4a11;
/** A backend id the agent does not use: it takes the lowest free ones. */
const STRAY_BACKEND_ID = 60000;
const KPR = path.join(repoRoot(), 'bin', 'kpr');

describe('kpr agent', () => {
  let topo: Topology;
  let servers: EchoServer[];
  const fixtures: LbFixture[] = [];

  beforeAll(async () => {
    assertPrivileged();
    topo = createTopology({ prefix: 'agent', backends: 2, dualStack: false });
    servers = await startEchoServers(topo, { tcp: [PORT] });
  });
  afterAll(async () => {
    await Promise.all((servers ?? []).map((s) => s.stop()));
    topo?.destroy();
  });
  afterEach(async () => {
    await Promise.all(fixtures.splice(0).map((f) => f.destroy()));
  });

  const fixture = (name: string) => {
    const f = new LbFixture(topo, name);
    fixtures.push(f);
    return f;
  };
  const web = (ip: string, backends: string[], port = 80) =>
    serviceManifest({ namespace: 'test', name: 'web', clusterIPs: [ip], ports: [{ name: 'http', port, targetPort: PORT }], endpoints: backends.map((addr) => ({ addr })) });
  const tcp = (ip: string) => ({ addr: ip, port: 80, proto: 'TCP' as const });

  test('bad objects among good ones are each reported by kind, namespace, name and field; the good ones serve traffic', async () => {
    const f = fixture('badobj');
    const [b1, b2] = topo.backends.map((b) => b.ipv4);
    const doc = (o: Record<string, unknown>) => yaml.dump(o);
    const svc = (name: string, spec: Record<string, unknown>) => doc({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'test', name }, spec });
    const eps = (name: string, body: Record<string, unknown>) =>
      doc({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { namespace: 'test', name, labels: { 'kubernetes.io/service-name': 'web' } }, addressType: 'IPv4', ...body });
    const bad: [string, RegExp][] = [
      [svc('port-range', { clusterIP: '198.19.1.11', ports: [{ name: 'http', port: 70000 }] }), /Service test\/port-range: spec\.ports\[0\]\.port: .*70000/],
      [svc('dup-ports', { clusterIP: '198.19.1.12', ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }), /Service test\/dup-ports: spec\.ports\[1\]: duplicate port 80\/TCP/],
      [svc('family', { clusterIP: 'fd00:198:19::1', ipFamilies: ['IPv4'], ports: [{ name: 'a', port: 80 }] }), /Service test\/family: spec\.ipFamilies\[0\]: is IPv4, but .* is IPv6/],
      [svc('protocol', { clusterIP: '198.19.1.13', ports: [{ name: 'a', port: 80, protocol: 'ICMP' }] }), /Service test\/protocol: spec\.ports\[0\]\.protocol: .*"ICMP"/],
      [svc('x'.repeat(300), { clusterIP: '198.19.1.14', ports: [{ name: 'a', port: 80 }] }), /Service test\/x{60}\.\.\.: metadata\.name: /],
      // JSON is YAML too: a value nested 1000 deep, which the YAML writer would not write.
      [
        `${JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'test', name: 'deep' }, spec: { clusterIP: JSON.parse(`${'['.repeat(1000)}${']'.repeat(1000)}`) } })}\n`,
        /Service test\/deep: spec\.clusterIP: must be a string/,
      ],
      [eps('web-bad-addr', { endpoints: [{ addresses: ['198.18.10.300'] }], ports: [{ name: 'http', port: PORT }] }), /EndpointSlice test\/web-bad-addr: endpoints\[0\]\.addresses\[0\]: "198\.18\.10\.300" is not a valid IP address/],
      [eps('web-many-ports', { endpoints: [{ addresses: [b2] }], ports: Array.from({ length: 10_000 }, (_, i) => ({ name: `p${i}`, port: 1 + i })) }), /EndpointSlice test\/web-many-ports: ports: may hold at most 100 entries, got 10000/],
    ];
    // A slice of a service that does not exist is no error: it waits for its service.
    const orphan = doc({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { namespace: 'test', name: 'gone-1', labels: { 'kubernetes.io/service-name': 'gone' } }, addressType: 'IPv4', endpoints: [{ addresses: [b2] }], ports: [{ name: 'http', port: PORT }] });
    const good = serviceManifest({ namespace: 'test', name: 'api', clusterIPs: ['198.19.1.15'], ports: [{ name: 'http', port: 80, targetPort: PORT }], endpoints: [{ addr: b2 }] });
    f.write('web.yaml', [web('198.19.1.10', [b1]), ...bad.map(([text]) => text), orphan, good].join('---\n'));
    const agent = await f.startAgent();
    const log = agent.lines.join('\n');
    for (const [, message] of bad) expect(log).toMatch(new RegExp(`web\\.yaml:\\d+: ${message.source}`));
    expect(log).not.toMatch(/gone/);
    expect(f.backendsOf(tcp('198.19.1.10'))).toEqual([`${b1}:${PORT}`]);
    expect(f.backendsOf(tcp('198.19.1.15'))).toEqual([`${b2}:${PORT}`]);
    expect((await runClient(f.client, { mode: 'tcp', addr: '198.19.1.10', port: 80, count: 5 })).backends).toEqual({ b1: 5 });
    expect((await runClient(f.client, { mode: 'tcp', addr: '198.19.1.15', port: 80, count: 5 })).backends).toEqual({ b2: 5 });
    // None of the bad services got a frontend.
    for (const ip of ['198.19.1.11', '198.19.1.12', '198.19.1.13', '198.19.1.14']) expect(f.backendsOf(tcp(ip))).toEqual([]);
  });

  test('pinned maps and links are root-only: directories 0700, pins 0600, even where the directories were there, open to all, before', async () => {
    const f = fixture('pinmodes');
    f.write('web.yaml', web('198.19.1.70', [topo.backends[0].ipv4]));
    const kprDir = path.join(f.bpfRootPath, 'kpr');
    fs.mkdirSync(path.join(kprDir, 'maps'), { recursive: true, mode: 0o777 });
    fs.chmodSync(kprDir, 0o777);
    fs.chmodSync(path.join(kprDir, 'maps'), 0o777);
    await f.startAgent();
    const modes: Record<string, string> = {};
    const walk = (dir: string): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        const st = fs.statSync(p);
        expect({ p, uid: st.uid, gid: st.gid }).toEqual({ p, uid: 0, gid: 0 });
        modes[path.relative(kprDir, p)] = (st.mode & 0o7777).toString(8);
        if (e.isDirectory()) walk(p);
      }
    };
    modes['.'] = (fs.statSync(kprDir).mode & 0o7777).toString(8);
    walk(kprDir);
    const dirs = ['.', 'maps', 'links'];
    expect(Object.keys(modes)).toEqual(expect.arrayContaining([...dirs, 'maps/kpr_services', 'links/kpr_connect4']));
    for (const [p, mode] of Object.entries(modes)) expect({ p, mode }).toEqual({ p, mode: dirs.includes(p) ? '700' : '600' });
  });

  test('a file that does not parse keeps what it held before', async () => {
    const f = fixture('badyaml');
    const [b1, b2] = topo.backends.map((b) => b.ipv4);
    f.write('web.yaml', web('198.19.1.20', [b1]));
    const agent = await f.startAgent();
    f.write('web.yaml', `${web('198.19.1.20', [b1, b2])}\n  bad: [indentation\n`);
    await agent.waitForLine('the parse error', (l) => /web\.yaml.*keeping/.test(l), 5000);
    expect(f.backendsOf(tcp('198.19.1.20'))).toEqual([`${b1}:${PORT}`]);
    f.write('web.yaml', web('198.19.1.20', [b1, b2]));
    await f.waitForBackends(tcp('198.19.1.20'), [`${b1}:${PORT}`, `${b2}:${PORT}`]);
  });

  test('`kpr services` reads the pinned maps while no agent runs', async () => {
    const f = fixture('services');
    const [b1, b2] = topo.backends.map((b) => b.ipv4);
    f.write('web.yaml', web('198.19.1.30', [b1, b2]));
    const agent = await f.startAgent();
    expect((await agent.stop('SIGTERM')).code).toBe(0);

    const json = JSON.parse(execFileSync(KPR, ['services', '--bpf-root', f.bpfRootPath, '-o', 'json'], { encoding: 'utf8' }));
    expect(json).toEqual([expect.objectContaining({
      frontend: '198.19.1.30:80/TCP',
      backends: [expect.objectContaining({ addr: b1, port: PORT }), expect.objectContaining({ addr: b2, port: PORT })],
    })]);
    const table = execFileSync(KPR, ['services', '--bpf-root', f.bpfRootPath], { encoding: 'utf8' });
    expect(table.split('\n')[0]).toMatch(/^FRONTEND\s+ID\s+AFFINITY/);
    expect(table).toContain('198.19.1.30:80/TCP');
    // The programs stay attached too: the service still answers.
    const r = await runClient(f.client, { mode: 'tcp', addr: '198.19.1.30', port: 80, count: 10 });
    expect(r.errors).toEqual({});
  });

  test('--bpf-root on a plain directory gets a bpffs mounted there', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-bpfroot-'));
    const f = fixture('mount');
    try {
      f.write('web.yaml', web('198.19.1.40', [topo.backends[0].ipv4]));
      f.agent = await startAgent({ manifests: f.manifests, bpfRoot: root, cgroupRoot: f.client.cgroup });
      expect(f.agent.lines.join('\n')).toContain(`mounted bpffs at ${root}`);
      expect(Number(fs.statfsSync(root).type)).toBe(BPF_FS_MAGIC);
      expect(fs.readdirSync(path.join(root, 'kpr', 'maps'))).toContain('kpr_services');
      expect((fs.statSync(path.join(root, 'kpr')).mode & 0o777).toString(8)).toBe('700');
    } finally {
      await f.agent?.stop('SIGKILL');
      removeBpfRoot(root);
    }
  });

  test('the periodic full sync puts right map entries deleted, changed or added by hand', async () => {
    const f = fixture('drift');
    const [b1, b2] = topo.backends.map((b) => b.ipv4);
    const both = [`${b1}:${PORT}`, `${b2}:${PORT}`];
    f.write('web.yaml', web('198.19.1.60', [b1, b2]));
    const agent = await f.startAgent({ args: ['--sync-period', '1s'] });
    await f.waitForBackends(tcp('198.19.1.60'), both);
    const slots = () => f.withMaps((m) => m.dumpServices().filter((s) => s.addr === '198.19.1.60').sort((a, b) => a.slot - b.slot));
    const programmed = slots();
    const [master, slot1, slot2] = programmed;
    const backendIds = () => f.withMaps((m) => m.dumpBackends().map((b) => b.id).sort((a, b) => a - b));
    const ids = backendIds();

    f.withMaps((m) => m.deleteServices([master]));
    expect(f.backendsOf(tcp('198.19.1.60'))).toEqual([]);
    await f.waitForBackends(tcp('198.19.1.60'), both, 5000);
    expect(slots()).toEqual(programmed);

    // Both slots on one backend: the maps hold as many entries as the agent wrote.
    // (b1 may come back under a new backend id: the re-plan keeps the id of the backend both slots held.)
    f.withMaps((m) => m.updateServices([{ ...slot1, backendId: slot2.backendId }]));
    expect(new Set(f.backendsOf(tcp('198.19.1.60'))).size).toBe(1);
    await f.waitForBackends(tcp('198.19.1.60'), both, 5000);
    expect(slots()).toHaveLength(programmed.length);
    expect(backendIds()).toHaveLength(ids.length);

    // A slot past the master's count and a backend nothing points at: lookups never see them.
    f.withMaps((m) => {
      m.updateBackends([{ id: STRAY_BACKEND_ID, addr: b1, port: PORT, svcId: master.svcId }]);
      m.updateServices([{ ...slot2, slot: 3 }]);
    });
    await waitFor(() => slots().length === programmed.length && !backendIds().includes(STRAY_BACKEND_ID), 5000, 'the stray entries deleted');
    expect(f.backendsOf(tcp('198.19.1.60')).sort()).toEqual(both);
    expect(backendIds()).toHaveLength(ids.length);
    expect(agent.lines.join('\n')).toMatch(/maps re-read/);
  });

  test('two agents with different roots do not touch each other', async () => {
    const [b1, b2] = topo.backends.map((b) => b.ipv4);
    const a = fixture('twoa');
    const b = fixture('twob');
    // The same ClusterIP, served differently by each agent to its own cgroup.
    a.write('web.yaml', web('198.19.1.50', [b1]));
    b.write('web.yaml', web('198.19.1.50', [b2]));
    await a.startAgent();
    await b.startAgent();
    expect((await runClient(a.client, { mode: 'tcp', addr: '198.19.1.50', port: 80, count: 10 })).backends).toEqual({ b1: 10 });
    expect((await runClient(b.client, { mode: 'tcp', addr: '198.19.1.50', port: 80, count: 10 })).backends).toEqual({ b2: 10 });

    a.write('web.yaml', web('198.19.1.50', []));
    await a.waitForBackends(tcp('198.19.1.50'), []);
    await a.agent?.stop('SIGKILL');
    expect(b.backendsOf(tcp('198.19.1.50'))).toEqual([`${b2}:${PORT}`]);
    expect((await runClient(b.client, { mode: 'tcp', addr: '198.19.1.50', port: 80, count: 10 })).backends).toEqual({ b2: 10 });
    expect((await runClient(a.client, { mode: 'tcp', addr: '198.19.1.50', port: 80, count: 2 })).errors).toEqual({ ECONNREFUSED: 2 });
  });
});
