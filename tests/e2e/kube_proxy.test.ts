// kube-proxy's semantics end to end: objects written through a real
// kube-apiserver, an agent watching it, and real connections from a client in
// the agent's cgroup through the socket LB. The client namespace plays the
// node "node-a" (its addresses are the Node's); backend b1 is on node-a, b2
// and b3 on node-b, so traffic policies have local and remote endpoints.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { Protocol } from '../../lib/model/protocol';
import { LbFixture } from '../datapath/lb_fixture';
import { runClient, startHold } from '../helpers/client_runner';
import { assertPrivileged } from '../helpers/preflight';
import { EchoServer, startEchoServers } from '../helpers/servers';
import { sleep } from '../helpers/sleep';
import { createTopology, Topology } from '../helpers/topology';
import { ApiProxy } from './api_proxy';
import { Cluster, startCluster } from './cluster';
import { EndpointSpec, KubeObjects, SlicePort } from './kube_objects';

jest.setTimeout(180_000);

const NODE = 'node-a';
const OTHER_NODE = 'node-b';
const TCP_PORT = 8080;
const UDP_PORT = 5353;
const NOT_ROUTED = 'ENETUNREACH'; // an address no program translated nor refused
// What kube-proxy rejects (a ClusterIP's other ports) or drops (an address of
// the API server's ServiceCIDR no service holds), kpr refuses at connect().
const REFUSED = 'ECONNREFUSED';
// After an outage the agent re-lists within its backoff (at most 5 s).
const RECONVERGE_MS = 15_000;

describe('kube-proxy semantics against a real API server', () => {
  let cluster: Cluster;
  let kube: KubeObjects;
  let topo: Topology;
  let servers: EchoServer[];
  let lb: LbFixture;
  let proxy: ApiProxy;
  let ns = 0;
  let metricsPort = 0;

  beforeAll(async () => {
    assertPrivileged();
    cluster = await startCluster({ prefix: 'e2e' });
    kube = new KubeObjects(cluster.kubeconfig);
    topo = createTopology({ prefix: 'e2e', backends: 3 });
    servers = await startEchoServers(topo, { tcp: [TCP_PORT], udp: [UDP_PORT] });
    await kube.node(NODE, [topo.client.ipv4, topo.client.ipv6 as string], { 'topology.kubernetes.io/zone': 'zone-a' });

    // The agent reaches the API server through a relay the outage test can cut.
    const url = new URL(cluster.server);
    proxy = new ApiProxy({ host: url.hostname, port: Number(url.port) });
    await proxy.start();
    const kubeconfig = path.join(cluster.dir, 'agent.kubeconfig');
    fs.writeFileSync(kubeconfig, fs.readFileSync(cluster.kubeconfig, 'utf8').replace(cluster.server, `https://127.0.0.1:${proxy.port}`));

    lb = new LbFixture(topo, 'e2e');
    metricsPort = await freePort();
    await lb.startAgent({
      kubeconfig,
      args: ['--hostname-override', NODE, '--min-sync-period', '0s', '--metrics-bind-address', `127.0.0.1:${metricsPort}`, '--healthz-bind-address', '127.0.0.1:0', '--metrics-kube-proxy-total-gauge=true'],
    });
  });
  afterAll(async () => {
    await lb?.destroy();
    await proxy?.cut();
    await Promise.all((servers ?? []).map((s) => s.stop()));
    topo?.destroy();
    await cluster?.stop();
  });

  const [b1, b2, b3] = [0, 1, 2].map((i) => () => topo.backends[i].ipv4);
  const local = (addr: string, more: Partial<EndpointSpec> = {}): EndpointSpec => ({ addr, nodeName: NODE, ...more });
  const remote = (addr: string, more: Partial<EndpointSpec> = {}): EndpointSpec => ({ addr, nodeName: OTHER_NODE, ...more });
  const terminating: Partial<EndpointSpec> = { ready: false, serving: true, terminating: true };
  const http: SlicePort = { name: 'http', port: TCP_PORT };

  /** A fresh namespace per test: tests never see each other's objects. */
  async function freshNamespace(): Promise<string> {
    const name = `t${++ns}`;
    await kube.namespace(name);
    return name;
  }

  const fe = (addr: string, port: number, proto: Protocol = 'TCP') => ({ addr, port, proto });
  const hp = (addr: string, port = TCP_PORT) => `${addr}:${port}`;
  const tcp = (addr: string, port: number, count = 30) => runClient(lb.client, { mode: 'tcp', addr, port, count });

  /** Creates a ClusterIP service with one TCP port 80 -> 8080 and its slice. */
  async function webService(namespace: string, endpoints: EndpointSpec[], spec: Record<string, unknown> = {}) {
    const svc = await kube.createService(namespace, 'web', { ports: [{ name: 'http', port: 80, targetPort: TCP_PORT as never }], ...spec });
    await kube.slice(namespace, 'web', [http], endpoints);
    return svc.spec?.clusterIP as string;
  }

  test('services and ports are created, updated and deleted', async () => {
    const n = await freshNamespace();
    const svc = await kube.createService(n, 'web', {
      ipFamilyPolicy: 'PreferDualStack',
      ports: [{ name: 'http', port: 80, targetPort: TCP_PORT as never }],
    });
    const [ip4, ip6] = svc.spec?.clusterIPs as string[];
    await kube.slice(n, 'web', [http], [remote(b1()), remote(b2()), remote(b3())]);
    await kube.slice(n, 'web', [http], topo.backends.map((b) => remote(b.ipv6 as string)), { family: 'IPv6' });
    await lb.waitForBackends(fe(ip4, 80), [b1(), b2(), b3()].map((a) => hp(a)));
    await lb.waitForBackends(fe(ip6, 80), topo.backends.map((b) => hp(b.ipv6 as string)));
    expect(Object.keys((await tcp(ip4, 80)).backends).sort()).toEqual(['b1', 'b2', 'b3']);
    expect(Object.keys((await tcp(ip6, 80)).backends).sort()).toEqual(['b1', 'b2', 'b3']);

    // A second port is added, then the first removed.
    await kube.updateService(n, 'web', (s) => s.spec!.ports!.push({ name: 'alt', port: 81, targetPort: TCP_PORT as never }));
    await kube.slice(n, 'web', [http, { name: 'alt', port: TCP_PORT }], [remote(b1()), remote(b2()), remote(b3())]);
    await lb.waitForBackends(fe(ip4, 81), [b1(), b2(), b3()].map((a) => hp(a)));
    expect((await tcp(ip4, 81, 10)).errors).toEqual({});
    await kube.updateService(n, 'web', (s) => (s.spec!.ports = s.spec!.ports!.filter((p) => p.name === 'alt')));
    await lb.waitForBackends(fe(ip4, 80), []);
    expect((await tcp(ip4, 80, 3)).errors).toEqual({ [REFUSED]: 3 });
    expect((await tcp(ip4, 81, 10)).errors).toEqual({});

    // Deleted: its address is an unassigned one of the API server's ServiceCIDR.
    await kube.deleteService(n, 'web');
    await lb.waitForBackends(fe(ip4, 81), []);
    expect((await tcp(ip4, 81, 3)).errors).toEqual({ [REFUSED]: 3 });

    // Recreated (the slice stayed): a new ClusterIP, reachable again.
    const again = await kube.createService(n, 'web', { ports: [{ name: 'alt', port: 81, targetPort: TCP_PORT as never }] });
    const newIp = again.spec?.clusterIP as string;
    await lb.waitForBackends(fe(newIp, 81), [b1(), b2(), b3()].map((a) => hp(a)));
    expect((await tcp(newIp, 81, 10)).errors).toEqual({});
  });

  test('a backend reaches itself through its own service (hairpin)', async () => {
    const n = await freshNamespace();
    const ip = await webService(n, [remote(b1())]);
    await lb.waitForBackends(fe(ip, 80), [hp(b1())]);
    const fromBackend = await runClient({ cgroup: lb.client.cgroup, ns: topo.backends[0].ns }, { mode: 'tcp', addr: ip, port: 80, count: 5 });
    expect(fromBackend.backends).toEqual({ b1: 5 });
  });

  test('an external IP that no node owns is served to the node\'s own clients', async () => {
    const n = await freshNamespace();
    const externalIP = '198.19.250.1';
    await webService(n, [remote(b2()), remote(b3())], { externalIPs: [externalIP] });
    await lb.waitForBackends(fe(externalIP, 80), [hp(b2()), hp(b3())]);
    expect(Object.keys((await tcp(externalIP, 80, 20)).backends).sort()).toEqual(['b2', 'b3']);
  });

  test('type changes: ClusterIP -> NodePort -> ClusterIP, and ExternalName -> ClusterIP', async () => {
    const n = await freshNamespace();
    const ip = await webService(n, [remote(b1()), remote(b2())]);
    await lb.waitForBackends(fe(ip, 80), [hp(b1()), hp(b2())]);

    const np = await kube.updateService(n, 'web', (s) => (s.spec!.type = 'NodePort'));
    const nodePort = np.spec?.ports?.[0].nodePort as number;
    await lb.waitForBackends(fe(topo.client.ipv4, nodePort), [hp(b1()), hp(b2())]);
    const viaNodePort = await tcp(topo.client.ipv4, nodePort, 20);
    expect(Object.keys(viaNodePort.backends).sort()).toEqual(['b1', 'b2']);

    await kube.updateService(n, 'web', (s) => {
      s.spec!.type = 'ClusterIP';
      s.spec!.ports!.forEach((p) => delete p.nodePort);
    });
    await lb.waitForBackends(fe(topo.client.ipv4, nodePort), []);
    // Nothing listens on the node port itself: the node refuses it.
    expect((await tcp(topo.client.ipv4, nodePort, 3)).errors).toEqual({ ECONNREFUSED: 3 });
    expect((await tcp(ip, 80, 10)).errors).toEqual({});

    await kube.createService(n, 'ext', { type: 'ExternalName', externalName: 'backend.example' });
    await kube.slice(n, 'ext', [http], [remote(b3())]);
    const changed = await kube.updateService(n, 'ext', (s) => {
      s.spec!.type = 'ClusterIP';
      delete s.spec!.externalName;
      s.spec!.ports = [{ name: 'http', port: 80, targetPort: TCP_PORT as never }];
    });
    const extIp = changed.spec?.clusterIP as string;
    await lb.waitForBackends(fe(extIp, 80), [hp(b3())]);
    expect((await tcp(extIp, 80, 10)).backends).toEqual({ b3: 10 });
  });

  test('the same port with different protocols reaches different backends', async () => {
    const n = await freshNamespace();
    const svc = await kube.createService(n, 'dns', {
      ports: [
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: TCP_PORT as never },
        { name: 'dns-udp', port: 53, protocol: 'UDP', targetPort: UDP_PORT as never },
      ],
    });
    const ip = svc.spec?.clusterIP as string;
    await kube.slice(n, 'dns', [{ name: 'dns-tcp', port: TCP_PORT, protocol: 'TCP' }], [remote(b1())], { name: 'dns-tcp' });
    await kube.slice(n, 'dns', [{ name: 'dns-udp', port: UDP_PORT, protocol: 'UDP' }], [remote(b2()), remote(b3())], { name: 'dns-udp' });
    await lb.waitForBackends(fe(ip, 53, 'TCP'), [hp(b1())]);
    await lb.waitForBackends(fe(ip, 53, 'UDP'), [hp(b2(), UDP_PORT), hp(b3(), UDP_PORT)]);
    expect((await tcp(ip, 53, 10)).backends).toEqual({ b1: 10 });
    const udp = await runClient(lb.client, { mode: 'udp', addr: ip, port: 53, count: 20 });
    expect(udp.errors).toEqual({});
    expect(Object.keys(udp.backends).sort()).toEqual(['b2', 'b3']);
    for (const r of udp.results) expect(r.fromAddr).toBe(ip);
  });

  test('terminating endpoints serve only while no endpoint is ready, for both traffic policies', async () => {
    const n = await freshNamespace();
    const ip = await webService(n, [remote(b1()), remote(b2(), terminating)], { type: 'NodePort', externalTrafficPolicy: 'Local' });
    await lb.waitForBackends(fe(ip, 80), [hp(b1())]);
    expect((await tcp(ip, 80, 10)).backends).toEqual({ b1: 10 });

    // No ready endpoint left: the serving, terminating one takes over.
    await kube.slice(n, 'web', [http], [remote(b1(), { ready: false, serving: false, terminating: true }), remote(b2(), terminating)]);
    await lb.waitForBackends(fe(ip, 80), [hp(b2())]);
    expect((await tcp(ip, 80, 10)).backends).toEqual({ b2: 10 });
    // externalTrafficPolicy Local: the node's own traffic to its NodePort
    // uses the cluster-wide set, with the same fallback.
    const svc = await kube.core.readNamespacedService({ namespace: n, name: 'web' });
    const nodePort = svc.spec?.ports?.[0].nodePort as number;
    await lb.waitForBackends(fe(topo.client.ipv4, nodePort), [hp(b2())]);
    expect((await tcp(topo.client.ipv4, nodePort, 10)).backends).toEqual({ b2: 10 });

    // internalTrafficPolicy Local falls back within the local endpoints.
    await kube.updateService(n, 'web', (s) => (s.spec!.internalTrafficPolicy = 'Local'));
    await kube.slice(n, 'web', [http], [local(b3(), terminating), remote(b2())]);
    await lb.waitForBackends(fe(ip, 80), [hp(b3())]);
    expect((await tcp(ip, 80, 10)).backends).toEqual({ b3: 10 });
  });

  test('internalTrafficPolicy Local uses this node\'s endpoints only, and refuses without one', async () => {
    const n = await freshNamespace();
    const ip = await webService(n, [local(b1()), remote(b2()), remote(b3())], { internalTrafficPolicy: 'Local' });
    await lb.waitForBackends(fe(ip, 80), [hp(b1())]);
    expect((await tcp(ip, 80, 20)).backends).toEqual({ b1: 20 });

    await kube.slice(n, 'web', [http], [remote(b2()), remote(b3())]);
    await lb.waitForBackends(fe(ip, 80), []);
    expect((await tcp(ip, 80, 3)).errors).toEqual({ ECONNREFUSED: 3 });

    await kube.updateService(n, 'web', (s) => (s.spec!.internalTrafficPolicy = 'Cluster'));
    await lb.waitForBackends(fe(ip, 80), [hp(b2()), hp(b3())]);
    expect(Object.keys((await tcp(ip, 80, 20)).backends).sort()).toEqual(['b2', 'b3']);
  });

  test('session affinity: on, off, and switched back on', async () => {
    const n = await freshNamespace();
    const ip = await webService(n, [remote(b1()), remote(b2()), remote(b3())], {
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
    });
    await lb.waitForBackends(fe(ip, 80), [b1(), b2(), b3()].map((a) => hp(a)));
    const pinned = await tcp(ip, 80, 30);
    expect(Object.values(pinned.backends)).toEqual([30]);

    const off = await kube.updateService(n, 'web', (s) => (s.spec!.sessionAffinity = 'None'));
    expect(off.spec?.sessionAffinity).toBe('None');
    await waitFor(() => lb.withMaps((m) => m.dumpServices().find((x) => x.addr === ip && x.slot === 0)?.affinityTimeout === 0));
    expect(Object.keys((await tcp(ip, 80, 30)).backends).length).toBeGreaterThan(1);

    await kube.updateService(n, 'web', (s) => {
      s.spec!.sessionAffinity = 'ClientIP';
      s.spec!.sessionAffinityConfig = { clientIP: { timeoutSeconds: 60 } };
    });
    await waitFor(() => lb.withMaps((m) => m.dumpServices().find((x) => x.addr === ip && x.slot === 0)?.affinityTimeout === 60));
    expect(Object.values((await tcp(ip, 80, 30)).backends)).toEqual([30]);
  });

  test('a service without endpoints is rejected, not black-holed', async () => {
    const n = await freshNamespace();
    const ip = await webService(n, []);
    await waitFor(() => lb.withMaps((m) => m.dumpServices().some((x) => x.addr === ip && x.slot === 0)));
    const r = await tcp(ip, 80, 5);
    expect(r.errors).toEqual({ ECONNREFUSED: 5 });
    for (const res of r.results) expect(res.ms).toBeLessThan(100);
  });

  test('service-proxy-name and headless labels are honoured', async () => {
    const n = await freshNamespace();
    const svc = await kube.createService(n, 'other', { ports: [{ name: 'http', port: 80, targetPort: TCP_PORT as never }] }, {
      'service.kubernetes.io/service-proxy-name': 'some-other-proxy',
    });
    const ip = svc.spec?.clusterIP as string;
    await kube.slice(n, 'other', [http], [remote(b1())]);
    const plain = await webService(n, [remote(b2())]);
    await lb.waitForBackends(fe(plain, 80), [hp(b2())]);
    expect(lb.backendsOf(fe(ip, 80))).toEqual([]);
    // In the service CIDR, not kpr's: refused, as kube-proxy drops it.
    expect((await tcp(ip, 80, 3)).errors).toEqual({ [REFUSED]: 3 });

    // Dropping the label hands the service to kpr.
    await kube.updateService(n, 'other', (s) => delete s.metadata!.labels!['service.kubernetes.io/service-proxy-name']);
    await lb.waitForBackends(fe(ip, 80), [hp(b1())]);

    // A Service labelled headless is not kpr's either.
    await kube.updateService(n, 'other', (s) => (s.metadata!.labels = { 'service.kubernetes.io/headless': '' }));
    await lb.waitForBackends(fe(ip, 80), []);

    // A slice labelled headless is not an endpoint source.
    await kube.slice(n, 'web', [http], [remote(b3())], { name: 'web-headless', labels: { 'service.kubernetes.io/headless': '' } });
    await sleep(500);
    expect(lb.backendsOf(fe(plain, 80))).toEqual([hp(b2())]);
  });

  test('kube-proxy\'s sync metrics are served, network programming latency included', async () => {
    const n = await freshNamespace();
    const ip = await webService(n, [remote(b1())], { internalTrafficPolicy: 'Local' });
    await waitFor(() => lb.withMaps((m) => m.dumpServices().some((x) => x.addr === ip && x.slot === 0 && x.count === 0)));
    const scrape = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const noLocal = (text: string) => Number(/^kubeproxy_sync_proxy_rules_no_local_endpoints_total\{traffic_policy="internal"\} (\S+)$/m.exec(text)?.[1]);
    // The Service may be synced before its slice, with no endpoints at all
    // (which is not "no local endpoints"): wait for the slice's sync too.
    let metrics = await scrape();
    for (const deadline = Date.now() + 5000; !(noLocal(metrics) >= 1) && Date.now() < deadline; metrics = await scrape()) await sleep(50);
    const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(metrics).toMatch(/# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram/);
    expect(metrics).toMatch(/# TYPE kubeproxy_network_programming_duration_seconds histogram/);
    expect(value('kubeproxy_network_programming_duration_seconds_count')).toBeGreaterThan(0);
    expect(value('kubeproxy_sync_proxy_rules_endpoint_changes_total')).toBeGreaterThan(0);
    expect(value('kubeproxy_sync_proxy_rules_service_changes_total')).toBeGreaterThan(0);
    expect(noLocal(metrics)).toBeGreaterThanOrEqual(1);
    expect(Math.abs(value('kubeproxy_sync_proxy_rules_last_timestamp_seconds') - Date.now() / 1000)).toBeLessThan(60);
  });

  test('an API server gone for 30 s: connections never fail, and a change made meanwhile is applied on return', async () => {
    const n = await freshNamespace();
    const ip = await webService(n, [remote(b1()), remote(b2())]);
    await lb.waitForBackends(fe(ip, 80), [hp(b1()), hp(b2())]);
    const hold = startHold(lb.client, { proto: 'tcp', addr: ip, port: 80, durationMs: 34_000, intervalMs: 200 });
    try {
      await proxy.cut();
      const outageEnds = Date.now() + 30_000;
      await kube.slice(n, 'web', [http], [remote(b3())]); // made while the agent cannot see it
      const rounds: Record<string, number>[] = [];
      while (Date.now() < outageEnds) {
        const r = await tcp(ip, 80, 20);
        rounds.push(r.errors);
        expect(Object.keys(r.backends).sort()).toEqual(['b1', 'b2']); // the last state stays programmed
        await sleep(1000);
      }
      expect(rounds.every((e) => Object.keys(e).length === 0)).toBe(true);
      expect(lb.agent?.lines.join('\n')).toMatch(/API server unreachable; keeping the programmed state/);

      await proxy.start();
      await lb.waitForBackends(fe(ip, 80), [hp(b3())], RECONVERGE_MS);
      expect((await tcp(ip, 80, 10)).backends).toEqual({ b3: 10 });
      const events = await hold.finished();
      expect(events.filter((e) => e.type === 'error' || (e.type === 'probe' && !e.ok))).toEqual([]);
    } finally {
      await hold.stop();
    }
  }, 120_000);

  test('a restarted API server (watch expiry and re-list) keeps the datapath and converges', async () => {
    const n = await freshNamespace();
    const ip = await webService(n, [remote(b1())]);
    await lb.waitForBackends(fe(ip, 80), [hp(b1())]);
    await cluster.stopApiServer();
    expect((await tcp(ip, 80, 10)).backends).toEqual({ b1: 10 });
    await cluster.startApiServer();
    await kube.slice(n, 'web', [http], [remote(b2())]);
    await lb.waitForBackends(fe(ip, 80), [hp(b2())], RECONVERGE_MS);
    expect((await tcp(ip, 80, 10)).backends).toEqual({ b2: 10 });
  });

  // Last: the agent is restarted with a name of its own, as Cilium's
  // --k8s-service-proxy-name, and adopts what the unnamed agent programmed.
  test('--service-proxy-name: the agent serves the Services labelled with its name, and only those', async () => {
    const CLAIM = { 'service.kubernetes.io/service-proxy-name': 'kpr-e2e' };
    const n = await freshNamespace();
    const plain = await webService(n, [remote(b1())]);
    const mine = (await kube.createService(n, 'mine', { ports: [{ name: 'http', port: 80, targetPort: TCP_PORT as never }] }, CLAIM)).spec?.clusterIP as string;
    await kube.slice(n, 'mine', [http], [remote(b2())], { labels: CLAIM });
    await lb.waitForBackends(fe(plain, 80), [hp(b1())]);
    expect(lb.backendsOf(fe(mine, 80))).toEqual([]);

    await lb.agent?.stop('SIGTERM');
    await lb.startAgent({ kubeconfig: cluster.kubeconfig, args: ['--hostname-override', NODE, '--min-sync-period', '0s', '--metrics-bind-address', '127.0.0.1:0', '--healthz-bind-address', '127.0.0.1:0', '--service-proxy-name', 'kpr-e2e'] });
    await lb.waitForBackends(fe(mine, 80), [hp(b2())]);
    await lb.waitForBackends(fe(plain, 80), []);
    expect((await tcp(mine, 80, 20)).backends).toEqual({ b2: 20 });
    // Another proxy's, in the CIDRs kpr shares with it: left alone, not refused.
    expect((await tcp(plain, 80, 3)).errors).toEqual({ [NOT_ROUTED]: 3 });

    // Labels move services between proxies: the watch reports them added or deleted.
    await kube.updateService(n, 'web', (svc) => (svc.metadata!.labels = { ...svc.metadata!.labels, ...CLAIM }));
    await kube.slice(n, 'web', [http], [remote(b1())], { labels: CLAIM });
    await kube.updateService(n, 'mine', (svc) => delete svc.metadata!.labels!['service.kubernetes.io/service-proxy-name']);
    await lb.waitForBackends(fe(plain, 80), [hp(b1())]);
    await lb.waitForBackends(fe(mine, 80), []);
    expect((await tcp(plain, 80, 20)).backends).toEqual({ b1: 20 });
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(20);
  }
}
