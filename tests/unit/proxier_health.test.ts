import * as http from 'http';
import { AddressInfo } from 'net';
import { goTime, nodeEligible, ProxierHealth, TO_BE_DELETED_TAINT } from '../../lib/metrics/proxier_health';
import { ProxyMetrics } from '../../lib/metrics/proxy_metrics';
import { healthzHandler, serve } from '../../lib/metrics/server';
import { Node } from '../../lib/model/objects';
import { httpGet as get } from './http_get';
import { MemoryLogger } from './logger';

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5, 120);
const TIMEOUT = 60_000;

const node = (extra: Partial<Node['metadata']> = {}, taints?: string[]): Node => ({
  metadata: { name: 'node-a', namespace: '', labels: {}, annotations: {}, ...extra },
  ...(taints ? { spec: { taints: taints.map((key) => ({ key })) } } : {}),
});

describe("kube-proxy's health rules", () => {
  test('the first sync counts as queued at start; a change queued longer than the timeout fails both', () => {
    const h = new ProxierHealth(TIMEOUT, T0);
    expect(h.isHealthy(T0 + 59_000)).toBe(true);
    expect(h.healthz(T0 + 61_000).status).toBe(503);
    expect(h.livez(T0 + 61_000).status).toBe(503);
    h.updated(T0 + 61_000);
    expect(h.healthz(T0 + 500_000).status).toBe(200);
    h.queuedUpdate(T0 + 500_000);
    h.queuedUpdate(T0 + 550_000); // the oldest pending change counts
    expect(h.isHealthy(T0 + 559_000)).toBe(true);
    expect(h.isHealthy(T0 + 561_000)).toBe(false);
  });

  test.each<[string, Node | undefined, boolean]>([
    ['a plain node', node(), true],
    ['a node being deleted', node({ deletionTimestamp: '2025-01-02T03:04:05Z' }), false],
    ['a node the autoscaler will delete', node({}, ['node.kubernetes.io/unschedulable', TO_BE_DELETED_TAINT]), false],
    ['a node with other taints', node({}, ['node.kubernetes.io/unschedulable']), true],
    ['a Node that is gone', undefined, false],
  ])('%s: eligible %s', (_, n, eligible) => {
    expect(nodeEligible(n)).toBe(eligible);
  });

  test("Go's time.String() of UTC times, zero time included", () => {
    expect(goTime(T0)).toBe('2025-01-02 03:04:05.12 +0000 UTC');
    expect(goTime(Date.UTC(2025, 0, 2, 3, 4, 5))).toBe('2025-01-02 03:04:05 +0000 UTC');
    expect(goTime(undefined)).toBe('0001-01-01 00:00:00 +0000 UTC');
  });

  test("bodies are kube-proxy's: lastUpdated is now while healthy, the last sync once not", () => {
    const h = new ProxierHealth(TIMEOUT, T0);
    expect(h.healthz(T0 + 1000)).toEqual({ status: 200, body: `{"lastUpdated": "${goTime(T0 + 1000)}","currentTime": "${goTime(T0 + 1000)}", "nodeEligible": true}` });
    expect(h.healthz(T0 + TIMEOUT)).toEqual({ status: 503, body: `{"lastUpdated": "${goTime(undefined)}","currentTime": "${goTime(T0 + TIMEOUT)}", "nodeEligible": true}` });
    h.updated(T0 + 2000);
    h.queuedUpdate(T0 + 3000);
    expect(h.livez(T0 + 3000 + TIMEOUT)).toEqual({ status: 503, body: `{"lastUpdated": "${goTime(T0 + 2000)}","currentTime": "${goTime(T0 + 3000 + TIMEOUT)}"}` });
  });
});

describe('/healthz and /livez', () => {
  test('a node being deleted fails /healthz, not /livez; both are counted by code', async () => {
    const m = new ProxyMetrics(new ProxierHealth(TIMEOUT));
    m.synced(0.001, Date.now(), []);
    const server = (await serve('healthz', { host: '127.0.0.1', port: 0 }, healthzHandler(m), new MemoryLogger(), true)) as http.Server;
    const port = (server.address() as AddressInfo).port;
    try {
      const ok = await get(port, '/healthz');
      expect(ok).toMatchObject({ status: 200, type: 'application/json' });
      expect(ok.body).toMatch(/^\{"lastUpdated": "\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC","currentTime": "[^"]+", "nodeEligible": true\}$/);
      expect(JSON.parse(ok.body).lastUpdated).toBe(JSON.parse(ok.body).currentTime);

      m.health.syncNode(node({ deletionTimestamp: '2025-01-02T03:04:05Z' }));
      const deleting = await get(port, '/healthz');
      expect(deleting.status).toBe(503);
      expect(JSON.parse(deleting.body)).toMatchObject({ nodeEligible: false });
      const live = await get(port, '/livez');
      expect(live.status).toBe(200);
      expect(Object.keys(JSON.parse(live.body))).toEqual(['lastUpdated', 'currentTime']);

      m.health.syncNode(node());
      expect((await get(port, '/healthz')).status).toBe(200);
      expect((await get(port, '/metrics')).status).toBe(404);

      const text = await m.registry.metrics();
      expect(text).toContain('kubeproxy_proxy_healthz_total{code="200"} 2');
      expect(text).toContain('kubeproxy_proxy_healthz_total{code="503"} 1');
      expect(text).toContain('kubeproxy_proxy_livez_total{code="200"} 1');
    } finally {
      server.close();
    }
  });

  test('a stale sync fails both', async () => {
    const m = new ProxyMetrics(new ProxierHealth(TIMEOUT, Date.now() - TIMEOUT - 1));
    const server = (await serve('healthz', { host: '127.0.0.1', port: 0 }, healthzHandler(m), new MemoryLogger(), true)) as http.Server;
    const port = (server.address() as AddressInfo).port;
    try {
      const h = await get(port, '/healthz');
      expect(h.status).toBe(503);
      expect(JSON.parse(h.body)).toMatchObject({ lastUpdated: '0001-01-01 00:00:00 +0000 UTC', nodeEligible: true });
      expect((await get(port, '/livez')).status).toBe(503);
    } finally {
      server.close();
    }
  });
});
