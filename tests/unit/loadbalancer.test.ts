import { formatFrontend } from '../../lib/model/frontend';
import { Service, ServiceSpec, ServiceStatus } from '../../lib/model/objects';
import { loadBalancerIPs } from '../../lib/model/service_types/loadbalancer';
import { desired, ep, service, slice } from './objects';

const lb = (ingress: NonNullable<NonNullable<ServiceStatus['loadBalancer']>['ingress']>, spec: ServiceSpec = {}): Service =>
  service('web', { type: 'LoadBalancer', clusterIP: '198.19.0.10', ports: [{ port: 80 }], ...spec }, 'default', { loadBalancer: { ingress } });

describe('which ingress addresses are served', () => {
  test.each<[string, Service, string[]]>([
    ['VIP by default', lb([{ ip: '198.18.200.1' }]), ['198.18.200.1']],
    ['VIP', lb([{ ip: '198.18.200.1', ipMode: 'VIP' }]), ['198.18.200.1']],
    ['Proxy is left to the load balancer', lb([{ ip: '198.18.200.1', ipMode: 'Proxy' }, { ip: '198.18.200.2' }]), ['198.18.200.2']],
    ['hostname-only ingress has no address', lb([{}]), []],
    ['no status yet', service('web', { type: 'LoadBalancer', clusterIP: '198.19.0.10' }), []],
    ['not a LoadBalancer service', { ...lb([{ ip: '198.18.200.1' }]), spec: { type: 'NodePort', clusterIP: '198.19.0.10' } }, []],
  ])('%s', (_name, svc, want) => {
    expect(loadBalancerIPs(svc)).toEqual(want);
  });
});

describe('LoadBalancer frontends', () => {
  const lbFrontends = (svc: Service) => desired([svc]).edgeFrontends.filter((f) => f.kind === 'LoadBalancer');

  test('served on the service port, each family by the service family of it', () => {
    const single = lb([{ ip: '198.18.200.1' }, { ip: 'fd00:198:18::200' }]);
    expect(lbFrontends(single).map(formatFrontend)).toEqual(['198.18.200.1:80/TCP']);
    const dual = lb([{ ip: '198.18.200.1' }, { ip: 'fd00:198:18::200' }], { clusterIPs: ['198.19.0.10', 'fd00:198:18::10'] });
    expect(lbFrontends(dual).map(formatFrontend)).toEqual(['198.18.200.1:80/TCP', '[fd00:198:18::200]:80/TCP']);
  });

  test('source ranges of the frontend family only, and only on LoadBalancer frontends', () => {
    const svc = lb([{ ip: '198.18.200.1' }, { ip: 'fd00:198:18::200' }], {
      clusterIPs: ['198.19.0.10', 'fd00:198:18::10'],
      externalIPs: ['198.18.100.1'],
      ports: [{ port: 80, nodePort: 30080 }],
      loadBalancerSourceRanges: ['198.18.64.0/18', 'fd00:198:18:64::/64', '198.18.0.0/18'],
    });
    expect(desired([svc]).edgeFrontends.map((f) => [f.kind, f.addr, f.sourceRanges])).toEqual([
      ['NodePort', '198.18.0.1', []],
      ['ExternalIP', '198.18.100.1', []],
      ['LoadBalancer', '198.18.200.1', ['198.18.0.0/18', '198.18.64.0/18']],
      ['NodePort', 'fd00:198:18::1', []],
      ['LoadBalancer', 'fd00:198:18::200', ['fd00:198:18:64::/64']],
    ]);
  });

  test('externalTrafficPolicy Local: local endpoints from outside, the health check port along', () => {
    const svc = lb([{ ip: '198.18.200.1' }], { externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 });
    const slices = [slice('web-1', 'web', 'IPv4', [ep('198.18.1.1', undefined, { nodeName: 'node-b' })], [{ port: 8080 }])];
    const [f] = desired([svc], slices).edgeFrontends;
    expect([f.backends, f.externalBackends, f.healthCheckNodePort]).toEqual([[{ addr: '198.18.1.1', port: 8080 }], [], 32000]);
  });
});
