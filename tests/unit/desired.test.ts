import { desired, ep, node, service, slice } from './objects';

describe('desired frontends', () => {
  test('slices join the service named by their label in their own namespace', () => {
    const services = [
      service('web', { clusterIP: '198.19.0.10', ports: [{ port: 80 }] }, 'a'),
      service('web', { clusterIP: '198.19.0.11', ports: [{ port: 80 }] }, 'b'),
    ];
    const slices = [
      slice('web-1', 'web', 'IPv4', [ep('198.18.1.1')], [{ port: 8080 }], 'a'),
      slice('web-2', 'web', 'IPv4', [ep('198.18.2.1')], [{ port: 8080 }], 'b'),
      slice('other', 'other', 'IPv4', [ep('198.18.3.1')], [{ port: 8080 }], 'a'),
      { ...slice('unlabelled', 'web', 'IPv4', [ep('198.18.4.1')], [{ port: 8080 }], 'a'), metadata: { name: 'unlabelled', namespace: 'a', labels: {}, annotations: {} } },
    ];
    const { frontends, conflicts } = desired(services, slices);
    expect(conflicts).toEqual([]);
    expect(frontends.map((f) => [f.serviceName, f.addr, f.backends.map((b) => b.addr)])).toEqual([
      ['a/web', '198.19.0.10', ['198.18.1.1']],
      ['b/web', '198.19.0.11', ['198.18.2.1']],
    ]);
  });

  test('headless and ExternalName services have no frontends', () => {
    const services = [
      service('headless', { clusterIP: 'None', ports: [{ port: 80 }] }),
      service('external', { type: 'ExternalName', ports: [{ port: 80 }] }),
    ];
    expect(desired(services, []).frontends).toEqual([]);
  });

  test('two services on one frontend: the first by name keeps it, whatever the input order', () => {
    const a = service('a', { clusterIP: '198.19.0.10', ports: [{ name: 'http', port: 80 }] });
    const b = service('b', { clusterIP: '198.19.0.10', ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 80, protocol: 'UDP' }] });
    for (const order of [[a, b], [b, a]]) {
      const { frontends, conflicts } = desired(order, []);
      expect(frontends.map((f) => `${f.serviceName} ${f.port}/${f.proto}`)).toEqual(['default/a 80/TCP', 'default/b 80/UDP']);
      expect(conflicts).toEqual([
        'Service default/b: port "http": frontend 198.19.0.10:80/TCP is already served by Service default/a; skipped',
      ]);
    }
  });

  test('output is ordered by frontend, independent of input order', () => {
    const services = [
      service('z', { clusterIP: '198.19.0.1', ports: [{ port: 80 }] }),
      service('y', { clusterIP: '198.19.0.2', ports: [{ port: 80 }] }),
    ];
    const one = desired(services, []).frontends;
    const two = desired([...services].reverse(), []).frontends;
    expect(one).toEqual(two);
    expect(one.map((f) => f.addr)).toEqual(['198.19.0.1', '198.19.0.2']);
  });

  test('every kind of frontend a LoadBalancer service has, in the socket LB and edge views', () => {
    const svc = service(
      'web',
      {
        type: 'LoadBalancer',
        clusterIP: '198.19.0.10',
        externalIPs: ['198.18.100.1'],
        ports: [{ port: 80, nodePort: 30080 }],
      },
      'default',
      { loadBalancer: { ingress: [{ ip: '198.18.200.1' }] } },
    );
    const { frontends, edgeFrontends } = desired([svc], [], node(['198.18.0.1']));
    const shown = (fs: typeof frontends) => fs.map((f) => `${f.kind} ${f.addr}:${f.port}`);
    expect(shown(frontends)).toEqual(['NodePort 198.18.0.1:30080', 'ExternalIP 198.18.100.1:80', 'LoadBalancer 198.18.200.1:80', 'ClusterIP 198.19.0.10:80']);
    expect(shown(edgeFrontends)).toEqual(['NodePort 198.18.0.1:30080', 'ExternalIP 198.18.100.1:80', 'LoadBalancer 198.18.200.1:80']);
  });

  test('an address a service names twice is served once, by the kind kube-proxy matches first, without a conflict', () => {
    const svc = service(
      'web',
      { type: 'LoadBalancer', clusterIP: '198.19.0.10', externalIPs: ['198.18.200.1'], loadBalancerSourceRanges: ['198.18.64.0/18'], ports: [{ port: 80 }] },
      'default',
      { loadBalancer: { ingress: [{ ip: '198.18.200.1' }, { ip: '198.18.200.1' }] } },
    );
    const { edgeFrontends, conflicts } = desired([svc]);
    expect(conflicts).toEqual([]);
    expect(edgeFrontends.map((f) => [f.kind, f.addr, f.sourceRanges])).toEqual([['ExternalIP', '198.18.200.1', []]]);
  });

  test('a LoadBalancer IP whose source ranges shut this node out is left out of the socket LB view only', () => {
    const svc = service(
      'web',
      { type: 'LoadBalancer', clusterIP: '198.19.0.10', loadBalancerSourceRanges: ['198.18.64.0/18'], ports: [{ port: 80 }] },
      'default',
      { loadBalancer: { ingress: [{ ip: '198.18.200.1' }] } },
    );
    const outside = desired([svc], [], node(['198.18.0.1']));
    expect(outside.frontends.map((f) => f.kind)).toEqual(['ClusterIP']);
    expect(outside.edgeFrontends.map((f) => [f.kind, f.sourceRanges])).toEqual([['LoadBalancer', ['198.18.64.0/18']]]);
    const inside = desired([svc], [], node(['198.18.64.1']));
    expect(inside.frontends.map((f) => f.kind)).toEqual(['LoadBalancer', 'ClusterIP']);
  });
});
