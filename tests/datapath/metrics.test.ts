// The agent's metrics and health as a monitoring system meets them: a real
// Prometheus scrapes a standalone agent after real traffic through the socket
// LB and reads kpr's and kube-proxy's values back through its HTTP API;
// promtool finds nothing to lint in the exposition; /healthz and /livez
// follow the manifest Node of the agent's node as it is deleted.
import { spawnSync } from 'child_process';
import * as yaml from 'js-yaml';
import { runClient } from '../helpers/client_runner';
import { serviceManifest } from '../helpers/manifests';
import { startAgent } from '../helpers/agent';
import { assertPrivileged } from '../helpers/preflight';
import { freePort, Prometheus, promtoolCheckMetrics, requirePrometheus } from '../helpers/prometheus';
import { EchoServer, startEchoServers } from '../helpers/servers';
import { createTopology, Topology } from '../helpers/topology';
import { LbFixture } from './lb_fixture';
import { KUBE_PROXY_NO_LOCAL_ENDPOINTS_GAUGE } from '../../lib/metrics/no_local_endpoints_gauge';

jest.setTimeout(90_000);

const PORT = 8080;
const VIP = '198.19.7.10';
const NODE = 'metrics-node';
const CONNECTIONS = 6;

describe('metrics and health of a running agent', () => {
  let topo: Topology;
  let servers: EchoServer[];
  let fixture: LbFixture;
  let prometheus: Prometheus | undefined;
  let metricsAddr: string;
  let healthzPort: number;

  const web = (backends: string[]) =>
    serviceManifest({ namespace: 'test', name: 'web', clusterIPs: [VIP], ports: [{ name: 'http', port: 80, targetPort: PORT }], endpoints: backends.map((addr) => ({ addr })) });
  const node = (deleting: boolean) =>
    yaml.dump({ apiVersion: 'v1', kind: 'Node', metadata: { name: NODE, ...(deleting ? { deletionTimestamp: '2025-01-02T03:04:05Z' } : {}) } });
  const get = async (url: string) => {
    const res = await fetch(url);
    return { status: res.status, body: await res.text() };
  };

  beforeAll(async () => {
    assertPrivileged();
    requirePrometheus();
    topo = createTopology({ prefix: 'metrics', backends: 1, dualStack: false });
    servers = await startEchoServers(topo, { tcp: [PORT] });
    fixture = new LbFixture(topo, 'metrics');
    fixture.write('web.yaml', web([topo.backends[0].ipv4]));
    fixture.write('node.yaml', node(false));
    metricsAddr = `127.0.0.1:${await freePort()}`;
    healthzPort = await freePort();
    await fixture.startAgent({
      args: ['--hostname-override', NODE, '--metrics-bind-address', metricsAddr, '--healthz-bind-address', `127.0.0.1:${healthzPort}`, '--metrics-per-service=true', '--bpf-lb-acceleration', 'disabled'],
    });
    prometheus = await Prometheus.start([metricsAddr]);
  });
  afterAll(async () => {
    await prometheus?.stop();
    await fixture?.destroy();
    await Promise.all((servers ?? []).map((s) => s.stop()));
    topo?.destroy();
  });

  test('Prometheus reads kpr_* and kubeproxy_* values back after traffic', async () => {
    const r = await runClient(fixture.client, { mode: 'tcp', addr: VIP, port: 80, count: CONNECTIONS });
    expect(r.backends).toEqual({ b1: CONNECTIONS });

    const total = await prometheus!.waitFor('kpr_socket_lb_translations_total', (v) => v.length === 1 && v[0].value >= CONNECTIONS);
    expect(total[0].metric).toMatchObject({ job: 'kpr', instance: metricsAddr });
    const perService = await prometheus!.waitFor('kpr_socket_lb_service_translations_total{service="test/web:http"}', (v) => v.length === 1 && v[0].value >= CONNECTIONS);
    expect(perService[0].metric.frontend).toBe(`${VIP}:80/TCP`);
    const synced = await prometheus!.waitFor('kubeproxy_sync_proxy_rules_last_timestamp_seconds', (v) => v.length === 1 && v[0].value > 0);
    expect(synced[0].value).toBeLessThanOrEqual(Date.now() / 1000);
    const entries = await prometheus!.waitFor('kpr_bpf_map_entries{map="kpr_services"}', (v) => v.length === 1);
    expect(entries[0].value).toBe(2); // the frontend's master entry and its one backend slot
    const attached = await prometheus!.query('kpr_bpf_program_attached');
    expect(attached.length).toBeGreaterThan(0);
    expect(attached.every((a) => a.value === 1)).toBe(true);
  });

  test('promtool check metrics finds nothing in the exposition', async () => {
    const scraped = await get(`http://${metricsAddr}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.body).toContain('kpr_drops_total{datapath="socket",reason="no_backend"}');
    expect(scraped.body).toContain('kubeproxy_sync_proxy_rules_duration_seconds_count');
    expect(scraped.body).toMatch(/^kpr_services_without_local_endpoints\{traffic_policy="internal"\} \d+$/m);
    expect(promtoolCheckMetrics(scraped.body)).toBe('');
    // The check would see kube-proxy's own gauge name, were it served (--metrics-kube-proxy-total-gauge).
    const misnamed = `# TYPE ${KUBE_PROXY_NO_LOCAL_ENDPOINTS_GAUGE} gauge\n${KUBE_PROXY_NO_LOCAL_ENDPOINTS_GAUGE} 0\n`;
    expect(promtoolCheckMetrics(misnamed)).toMatch(/non-counter metrics should not have "_total" suffix/);
  });

  test('health tells its state and times, nothing else: no address, path, version or object', async () => {
    const healthz = await get(`http://127.0.0.1:${healthzPort}/healthz`);
    const livez = await get(`http://127.0.0.1:${healthzPort}/livez`);
    expect(Object.keys(JSON.parse(healthz.body)).sort()).toEqual(['currentTime', 'lastUpdated', 'nodeEligible']);
    expect(Object.keys(JSON.parse(livez.body)).sort()).toEqual(['currentTime', 'lastUpdated']);
    for (const body of [healthz.body, livez.body]) {
      for (const internal of [VIP, topo.backends[0].ipv4, fixture.bpfRootPath, fixture.manifests, NODE, 'kpr']) expect(body).not.toContain(internal);
    }
  });

  test('nothing over HTTP changes state: every method but GET and HEAD gets 405 on every served path, and nothing changed', async () => {
    const before = { backends: fixture.backendsOf({ addr: VIP, port: 80, proto: 'TCP' }), healthz: (await get(`http://127.0.0.1:${healthzPort}/healthz`)).status };
    const urls = [`http://${metricsAddr}/metrics`, `http://${metricsAddr}/`, ...['/healthz', '/livez', '/'].map((p) => `http://127.0.0.1:${healthzPort}${p}`)];
    for (const url of urls) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const res = await fetch(url, { method, body: method === 'DELETE' ? undefined : '{"nodeEligible": false}' });
        expect({ url, method, status: res.status, allow: res.headers.get('allow') }).toEqual({ url, method, status: 405, allow: 'GET, HEAD' });
      }
      expect([200, 404]).toContain((await fetch(url, { method: 'HEAD' })).status);
    }
    expect({ backends: fixture.backendsOf({ addr: VIP, port: 80, proto: 'TCP' }), healthz: (await get(`http://127.0.0.1:${healthzPort}/healthz`)).status }).toEqual(before);
    expect(before.backends).toEqual([`${topo.backends[0].ipv4}:${PORT}`]);
  });

  test('by default metrics listen on loopback only (127.0.0.1:10249), not on the node addresses', async () => {
    const other = new LbFixture(topo, 'metrics-default');
    try {
      other.write('web.yaml', web([topo.backends[0].ipv4]));
      // In the client's namespace, whose loopback and address are its own: the machine's ports stay free.
      other.agent = await startAgent({ manifests: other.manifests, bpfRoot: other.bpfRootPath, cgroupRoot: other.client.cgroup, netns: topo.client.ns, args: ['--bpf-lb-acceleration', 'disabled'] });
      expect(other.agent.lines.join('\n')).toContain('metrics: serving on http://127.0.0.1:10249');
      // curl prints 000 when nothing answers (and exits non-zero).
      const status = (host: string) =>
        spawnSync('ip', ['netns', 'exec', topo.client.ns, 'curl', '-s', '-o', '/dev/null', '-m', '2', '-w', '%{http_code}', `http://${host}:10249/metrics`], { encoding: 'utf8', timeout: 10_000 }).stdout;
      expect(status('127.0.0.1')).toBe('200');
      expect(status(topo.client.ipv4)).toBe('000');
    } finally {
      await other.destroy();
    }
  });

  test('a Node being deleted fails /healthz and not /livez', async () => {
    const healthz = `http://127.0.0.1:${healthzPort}/healthz`;
    const livez = `http://127.0.0.1:${healthzPort}/livez`;
    const ok = await get(healthz);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ nodeEligible: true });

    fixture.write('node.yaml', node(true));
    const deadline = Date.now() + 10_000;
    let h = await get(healthz);
    while (h.status === 200 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      h = await get(healthz);
    }
    expect(h.status).toBe(503);
    expect(JSON.parse(h.body)).toMatchObject({ nodeEligible: false });
    expect((await get(livez)).status).toBe(200);
    await prometheus!.waitFor('kubeproxy_proxy_healthz_total{code="503"}', (v) => v.length === 1 && v[0].value >= 1);
  });
});
