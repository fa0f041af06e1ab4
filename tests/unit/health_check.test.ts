import { healthCheck } from '../../lib/model/health_check';
import { ServiceSpec } from '../../lib/model/objects';
import { desired, ep, node, service, slice } from './objects';

const LOCAL_LB: ServiceSpec = { type: 'LoadBalancer', clusterIPs: ['198.19.0.10', 'fd00:198:18::10'], externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, ports: [{ name: 'a', port: 80 }, { name: 'b', port: 443 }] };
const PORTS = [{ name: 'a', port: 8080 }, { name: 'b', port: 8443 }];

describe('healthCheckNodePort local endpoints', () => {
  test('ready endpoints on this node, counted by address over ports, slices and families', () => {
    const slices = [
      slice('web-1', 'web', 'IPv4', [ep('198.18.1.1', undefined, { nodeName: 'node-a' }), ep('198.18.1.2', { ready: false, serving: true, terminating: true }, { nodeName: 'node-a' }), ep('198.18.2.1', undefined, { nodeName: 'node-b' })], PORTS),
      slice('web-2', 'web', 'IPv4', [ep('198.18.1.1', undefined, { nodeName: 'node-a' }), ep('198.18.1.3', { ready: true }, { nodeName: 'node-a' })], PORTS),
      slice('web-3', 'web', 'IPv6', [ep('fd00:198:18:1::1', undefined, { nodeName: 'node-a' })], PORTS),
      slice('web-4', 'web', 'IPv4', [ep('198.18.1.4', undefined, { nodeName: 'node-a' })], []),
    ];
    expect(healthCheck(service('web', LOCAL_LB), slices, node())).toEqual({ namespace: 'default', name: 'web', port: 32000, localEndpoints: 3 });
  });

  test('only LoadBalancer services with externalTrafficPolicy Local have one', () => {
    expect(healthCheck(service('web', { ...LOCAL_LB, externalTrafficPolicy: 'Cluster' }), [], node())).toBeUndefined();
    expect(healthCheck(service('web', { ...LOCAL_LB, type: 'NodePort' }), [], node())).toBeUndefined();
    expect(desired([service('web', LOCAL_LB), service('api', { ...LOCAL_LB, healthCheckNodePort: 32001 })]).healthChecks).toEqual([
      { namespace: 'default', name: 'api', port: 32001, localEndpoints: 0 },
      { namespace: 'default', name: 'web', port: 32000, localEndpoints: 0 },
    ]);
  });
});
