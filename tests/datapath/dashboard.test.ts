// The chart's Grafana dashboard (charts/kpr/dashboards/kpr.json) against a
// real Prometheus that scrapes a running agent: node A of the edge topology
// runs the agent with XDP on its device, an outside client reaches a
// NodePort through it, the node itself a ClusterIP through the socket LB,
// an EndpointSlice changes while it runs and /healthz is asked. Every
// panel's every query, with Grafana's $__rate_interval as a minute, must
// return data, and at least one number: a panel whose metric was renamed,
// mistyped or never exported fails here, not on an operator's screen.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { repoRoot } from '../../lib/datapath/native';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { runClient } from '../helpers/client_runner';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { createEdgeTopology, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { nodeManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { freePort, Prometheus, requirePrometheus } from '../helpers/prometheus';
import { run } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';

jest.setTimeout(180_000);

const TARGET = 8080;
const NODE_PORT = 30090;
const CLUSTER_IP = '198.19.9.90';
const FLOWS = 2000;
const RATE_INTERVAL = '1m';

interface Panel {
  title: string;
  targets: { expr: string }[];
}

const DASHBOARD = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'charts', 'kpr', 'dashboards', 'kpr.json'), 'utf8')) as { panels: Panel[] };
const QUERIES = DASHBOARD.panels.flatMap((p) => p.targets.map((t, i) => ({ title: `${p.title} [${i}]`, expr: t.expr.replaceAll('$__rate_interval', RATE_INTERVAL) })));

describe("the Grafana dashboard's queries, on a real Prometheus scraping a running agent", () => {
  let topo: EdgeTopology;
  let manifests: string;
  let nodeCgroup: TestCgroup;
  /** The outside client's own: the agent's socket LB must not see it. */
  let clientCgroup: TestCgroup;
  let prometheus: Prometheus | undefined;
  let metricsPort = 0;
  let healthzPort = 0;
  const servers: EchoServer[] = [];
  const agents: EdgeNodeAgent[] = [];

  /** The service with its slice, the slice stamped with a change time (network programming latency). */
  function writeService(backends: { addr: string; node: string }[]): void {
    const svc = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { namespace: 'apps', name: 'web' },
      spec: { type: 'NodePort', clusterIP: CLUSTER_IP, clusterIPs: [CLUSTER_IP], ports: [{ name: 'http', port: 80, targetPort: TARGET, nodePort: NODE_PORT, protocol: 'TCP' }] },
    };
    const slice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { namespace: 'apps', name: 'web-ipv4', labels: { 'kubernetes.io/service-name': 'web' }, annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': new Date().toISOString() } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: TARGET, protocol: 'TCP' }],
      endpoints: backends.map((b) => ({ addresses: [b.addr], nodeName: b.node, conditions: { ready: true } })),
    };
    writeManifest(manifests, 'web.yaml', [svc, slice].map((o) => yaml.dump(o)).join('---\n'));
  }

  beforeAll(async () => {
    assertPrivileged();
    requirePrometheus();
    topo = createEdgeTopology('dash', 1);
    clientCgroup = createTestCgroup('dash-client');
    for (const n of topo.nodes) for (const p of n.pods) servers.push(await startEchoServer(p.ns, p.name, { tcp: [TARGET] }));
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-dash-'));
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    writeService([{ addr: topo.nodes[0].pods[0].ipv4, node: topo.nodes[0].name }]);
    [metricsPort, healthzPort] = [await freePort(), await freePort()];
    const nodeA = topo.nodes[0];
    agents.push(
      await startEdgeNodeAgent(nodeA, manifests, ['--metrics-bind-address', `127.0.0.1:${metricsPort}`, '--healthz-bind-address', `127.0.0.1:${healthzPort}`, '--metrics-per-service=true', '--conntrack-gc-interval', '1s']),
    );
    nodeCgroup = agents[0].cgroup;
    prometheus = await Prometheus.start([`127.0.0.1:${metricsPort}`], nodeA.ns);
    // Scraped before anything happens: rates then see every change.
    await prometheus.waitFor('kubeproxy_sync_proxy_rules_duration_seconds_count', (r) => r.length === 1);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await tearDownEdgeTest({ agents, servers, topo, clientCgroup, dirs: [manifests] });
  });

  test(`after ${FLOWS} connections from outside and from the node, a slice change and health checks, every query returns numbers`, async () => {
    const nodeA = topo.nodes[0];
    // Spread over the scrapes: rates need two samples with traffic between them.
    for (let round = 0; round < 4; round++) {
      if (round === 2) {
        // A change once Prometheus has scraped: a sync and a network programming latency to see.
        writeService(topo.nodes.map((n) => ({ addr: n.pods[0].ipv4, node: n.name })));
        for (let i = 0; i < 3; i++) run('nsenter', [`--net=/run/netns/${nodeA.ns}`, 'curl', '-s', '-o', '/dev/null', `http://127.0.0.1:${healthzPort}/healthz`]);
      }
      const outside = await runClient({ cgroup: clientCgroup.path, ns: topo.client.ns }, { mode: 'tcp', addr: nodeA.ipv4, port: NODE_PORT, count: FLOWS / 4, deadlineMs: 60_000 });
      expect(outside.errors).toEqual({});
      const fromNode = await runClient({ cgroup: nodeCgroup.path, ns: nodeA.ns }, { mode: 'tcp', addr: CLUSTER_IP, port: 80, count: FLOWS / 4, deadlineMs: 60_000 });
      expect(fromNode.errors).toEqual({});
      await new Promise((r) => setTimeout(r, 1500));
    }
    expect(QUERIES.length).toBeGreaterThanOrEqual(DASHBOARD.panels.length);
    const empty: string[] = [];
    for (const q of QUERIES) {
      try {
        await prometheus!.waitFor(q.expr, (r) => r.some((x) => Number.isFinite(x.value)), 15_000);
      } catch (e) {
        empty.push(`${q.title}: ${q.expr}: ${(e as Error).message.split('\n')[0]}`);
      }
    }
    expect(empty).toEqual([]);
  });
});
