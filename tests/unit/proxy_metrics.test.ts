import * as http from 'http';
import { NETWORK_PROGRAMMING_BUCKETS, ProxyMetrics, SYNC_DURATION_BUCKETS } from '../../lib/metrics/proxy_metrics';
import { healthzHandler, metricsHandler, serve } from '../../lib/metrics/server';
import { httpGet as get } from './http_get';
import { MemoryLogger } from './logger';

describe('kube-proxy metrics', () => {
  test("names, types, help texts and labels are kube-proxy's (its misnamed gauge when asked for)", async () => {
    const m = new ProxyMetrics(undefined, { kubeProxyTotalGauge: true });
    const exported = (await m.registry.getMetricsAsJSON()).map((x) => ({ name: x.name, type: x.type, help: x.help, labels: [...new Set(x.values.flatMap((v) => Object.keys(v.labels)))].filter((l) => l !== 'le').sort() }));
    expect(exported).toEqual([
      { name: 'kubeproxy_sync_proxy_rules_duration_seconds', type: 'histogram', help: 'SyncProxyRules latency in seconds', labels: [] },
      { name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds', type: 'gauge', help: 'The last time proxy rules were successfully synced', labels: [] },
      { name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds', type: 'gauge', help: 'The last time a sync of proxy rules was queued', labels: [] },
      { name: 'kubeproxy_network_programming_duration_seconds', type: 'histogram', help: 'In Cluster Network Programming Latency in seconds', labels: [] },
      { name: 'kubeproxy_sync_proxy_rules_endpoint_changes_pending', type: 'gauge', help: 'Pending proxy rules Endpoint changes', labels: [] },
      { name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total', type: 'counter', help: 'Cumulative proxy rules Endpoint changes', labels: [] },
      { name: 'kubeproxy_sync_proxy_rules_service_changes_pending', type: 'gauge', help: 'Pending proxy rules Service changes', labels: [] },
      { name: 'kubeproxy_sync_proxy_rules_service_changes_total', type: 'counter', help: 'Cumulative proxy rules Service changes', labels: [] },
      { name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total', type: 'gauge', help: 'Number of services with a Local traffic policy and no endpoints', labels: ['traffic_policy'] },
      { name: 'kubeproxy_proxy_healthz_total', type: 'counter', help: 'Cumulative proxy healthz HTTP status', labels: [] },
      { name: 'kubeproxy_proxy_livez_total', type: 'counter', help: 'Cumulative proxy livez HTTP status', labels: [] },
    ]);
  });

  test("by default the no-local-endpoints gauge has a name promtool accepts, and kube-proxy's is not served", async () => {
    const m = new ProxyMetrics();
    m.noLocal({ internal: 2, external: 1 });
    const text = await m.registry.metrics();
    expect(text).toContain('# TYPE kpr_services_without_local_endpoints gauge');
    expect(text).toContain('kpr_services_without_local_endpoints{traffic_policy="internal"} 2');
    expect(text).toContain('kpr_services_without_local_endpoints{traffic_policy="external"} 1');
    expect(text).not.toContain('no_local_endpoints_total');
  });

  test.each([
    [false, 'kpr_services_without_local_endpoints'],
    [true, 'kubeproxy_sync_proxy_rules_no_local_endpoints_total'],
  ])('the no-local-endpoints gauge (kube-proxy name: %s) is exported from the start for both traffic policies', async (kubeProxyTotalGauge, name) => {
    const text = await new ProxyMetrics(undefined, { kubeProxyTotalGauge }).registry.metrics();
    expect(text).toContain(`${name}{traffic_policy="internal"} 0`);
    expect(text).toContain(`${name}{traffic_policy="external"} 0`);
  });

  test("buckets are kube-proxy's", async () => {
    expect(SYNC_DURATION_BUCKETS[0]).toBe(0.001);
    expect(SYNC_DURATION_BUCKETS).toHaveLength(15);
    expect(SYNC_DURATION_BUCKETS[14]).toBeCloseTo(16.384);
    expect(NETWORK_PROGRAMMING_BUCKETS.slice(0, 5)).toEqual([0, 0.25, 0.5, 1, 2]);
    expect(NETWORK_PROGRAMMING_BUCKETS.slice(-9)).toEqual([110, 115, 120, 150, 180, 210, 240, 270, 300]);
    expect(NETWORK_PROGRAMMING_BUCKETS).toHaveLength(1 + 2 + 59 + 12 + 7);
    const m = new ProxyMetrics();
    m.synced(0.003, 1_700_000_000_000, [1_700_000_000_000 - 1500]);
    const text = await m.registry.metrics();
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.004"} 1');
    expect(text).toContain('kubeproxy_sync_proxy_rules_duration_seconds_bucket{le="0.002"} 0');
    expect(text).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="2"} 1');
    expect(text).toContain('kubeproxy_network_programming_duration_seconds_bucket{le="1"} 0');
    expect(text).toContain('kubeproxy_sync_proxy_rules_last_timestamp_seconds 1700000000');
  });
});

describe('metrics and healthz servers', () => {
  test('serve /metrics, /proxyMode and /healthz; a port in use is logged, or fatal with hard fail', async () => {
    const m = new ProxyMetrics();
    const log = new MemoryLogger();
    const metrics = (await serve('metrics', { host: '127.0.0.1', port: 18249 }, metricsHandler(m.registry), log, false)) as http.Server;
    const healthz = (await serve('healthz', { host: '127.0.0.1', port: 18256 }, healthzHandler(m), log, false)) as http.Server;
    try {
      const r = await get(18249, '/metrics');
      expect(r.status).toBe(200);
      expect(r.type).toContain('text/plain');
      expect(r.body).toContain('# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram');
      expect((await get(18249, '/other')).status).toBe(404);
      // kube-proxy's /proxyMode: upstream's "should check kube-proxy urls" wants 200 there.
      expect(await get(18249, '/proxyMode')).toMatchObject({ status: 200, body: 'kpr' });
      const h = await get(18256, '/healthz');
      expect(h.status).toBe(200);
      expect(Object.keys(JSON.parse(h.body))).toEqual(['lastUpdated', 'currentTime', 'nodeEligible']);
      expect(await serve('metrics', { host: '127.0.0.1', port: 18249 }, metricsHandler(m.registry), log, false)).toBeUndefined();
      expect(log.matching(/error metrics: cannot listen on 127\.0\.0\.1:18249: .*EADDRINUSE.*; serving no metrics/)).toHaveLength(1);
      await expect(serve('metrics', { host: '127.0.0.1', port: 18249 }, metricsHandler(m.registry), log, true)).rejects.toThrow(/EADDRINUSE.*\(bindAddressHardFail\)/);
    } finally {
      metrics.close();
      healthz.close();
    }
  });
});
