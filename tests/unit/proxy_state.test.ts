import { ProxyMetrics } from '../../lib/metrics/proxy_metrics';
import { ProxyState } from '../../lib/sync/proxy_state';
import { ALL_NODE_ADDRESSES, ep, node, service, slice } from './objects';

async function value(m: ProxyMetrics, name: string): Promise<number> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return metric?.values[0]?.value ?? NaN;
}

describe('proxy state', () => {
  test('every Service and EndpointSlice event counts; pending counts objects changed since the last sync', async () => {
    const metrics = new ProxyMetrics();
    let requests = 0;
    const state = new ProxyState(node(), ALL_NODE_ADDRESSES, metrics, () => requests++);
    const web = service('web', { clusterIP: '198.19.0.10', ports: [{ port: 80 }] });
    state.service('default/web', web);
    state.service('default/web', { ...web });
    state.endpointSlice('default/web-1', slice('web-1', 'web', 'IPv4', [ep('198.18.0.11')], [{ port: 80 }]));
    expect(await value(metrics, 'kubeproxy_sync_proxy_rules_service_changes_total')).toBe(2);
    expect(await value(metrics, 'kubeproxy_sync_proxy_rules_endpoint_changes_total')).toBe(1);
    expect(await value(metrics, 'kubeproxy_sync_proxy_rules_service_changes_pending')).toBe(1);
    expect(requests).toBe(3);
    expect(state.take().changed).toBe(true);
    expect(await value(metrics, 'kubeproxy_sync_proxy_rules_service_changes_pending')).toBe(0);
    state.service('default/web', { ...web });
    expect(requests).toBe(3);
    expect(state.take().changed).toBe(false);
  });

  test("the interfaces' addresses join the node from the source; the node is a new object only when either changes", () => {
    let requests = 0;
    const state = new ProxyState({ name: 'node-a', labels: {}, addresses: ['198.18.0.2'] }, ALL_NODE_ADDRESSES, new ProxyMetrics(), () => requests++);
    const first = state.node;
    expect(first.interfaceAddresses).toEqual([]);
    state.setInterfaceAddresses(['127.0.0.1', '198.18.0.2']);
    const withInterfaces = state.node;
    expect([withInterfaces.addresses, withInterfaces.interfaceAddresses, requests, state.take().changed]).toEqual([['198.18.0.2'], ['127.0.0.1', '198.18.0.2'], 1, true]);
    state.setInterfaceAddresses(['127.0.0.1', '198.18.0.2']);
    expect([state.node, requests, state.take().changed]).toEqual([withInterfaces, 1, false]);
    expect(state.node).toBe(withInterfaces);
    // A new Node keeps the interfaces' addresses, and the other way round.
    state.setNode({ name: 'node-a', labels: {}, addresses: ['198.18.0.3'] });
    expect(state.node).toEqual({ name: 'node-a', labels: {}, addresses: ['198.18.0.3'], interfaceAddresses: ['127.0.0.1', '198.18.0.2'] });
    state.setInterfaceAddresses(['127.0.0.1', '198.18.0.2', '198.18.0.77']);
    expect(state.node).toEqual({ name: 'node-a', labels: {}, addresses: ['198.18.0.3'], interfaceAddresses: ['127.0.0.1', '198.18.0.2', '198.18.0.77'] });
    expect([requests, state.take().changed]).toEqual([3, true]);
  });
});
