import { desiredFrontends } from '../../lib/model/desired';
import { ep, service, slice } from './objects';

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
      { ...slice('unlabelled', 'web', 'IPv4', [ep('198.18.4.1')], [{ port: 8080 }], 'a'), metadata: { name: 'unlabelled', namespace: 'a', labels: {} } },
    ];
    const { frontends, conflicts } = desiredFrontends(services, slices);
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
    expect(desiredFrontends(services, []).frontends).toEqual([]);
  });

  test('two services on one frontend: the first by name keeps it, whatever the input order', () => {
    const a = service('a', { clusterIP: '198.19.0.10', ports: [{ name: 'http', port: 80 }] });
    const b = service('b', { clusterIP: '198.19.0.10', ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 80, protocol: 'UDP' }] });
    for (const order of [[a, b], [b, a]]) {
      const { frontends, conflicts } = desiredFrontends(order, []);
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
    const one = desiredFrontends(services, []).frontends;
    const two = desiredFrontends([...services].reverse(), []).frontends;
    expect(one).toEqual(two);
    expect(one.map((f) => f.addr)).toEqual(['198.19.0.1', '198.19.0.2']);
  });
});
