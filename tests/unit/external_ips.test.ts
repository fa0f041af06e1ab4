import { formatFrontend } from '../../lib/model/frontend';
import { ServiceSpec } from '../../lib/model/objects';
import { desired, ep, service, slice } from './objects';

const externalIps = (spec: ServiceSpec) =>
  desired([service('web', spec)]).edgeFrontends.filter((f) => f.kind === 'ExternalIP').map(formatFrontend);

describe('ExternalIP frontends', () => {
  const ports = [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' as const }];
  test.each<[string, ServiceSpec, string[]]>([
    ['a ClusterIP service has them, on every port', { clusterIP: '198.19.0.10', externalIPs: ['198.18.100.1'], ports }, ['198.18.100.1:53/UDP', '198.18.100.1:80/TCP']],
    ['so does a NodePort service', { type: 'NodePort', clusterIP: '198.19.0.10', externalIPs: ['198.18.100.1'], ports: [{ port: 80 }] }, ['198.18.100.1:80/TCP']],
    ['not a headless one', { clusterIP: 'None', externalIPs: ['198.18.100.1'], ports: [{ port: 80 }] }, []],
    ['not an ExternalName one', { type: 'ExternalName', externalIPs: ['198.18.100.1'], ports: [{ port: 80 }] }, []],
    ['only of a family the service has', { clusterIP: '198.19.0.10', externalIPs: ['fd00:198:18::100', '198.18.100.1'], ports: [{ port: 80 }] }, ['198.18.100.1:80/TCP']],
    [
      'each family of a dual-stack service',
      { clusterIPs: ['fd00:198:18::10', '198.19.0.10'], externalIPs: ['fd00:198:18::100', '198.18.100.1'], ports: [{ port: 80 }] },
      ['198.18.100.1:80/TCP', '[fd00:198:18::100]:80/TCP'],
    ],
  ])('%s', (_name, spec, want) => {
    expect(externalIps(spec)).toEqual(want);
  });

  test('externalTrafficPolicy applies to them even on a ClusterIP service', () => {
    const svc = service('web', { clusterIP: '198.19.0.10', externalIPs: ['198.18.100.1'], externalTrafficPolicy: 'Local', ports: [{ port: 80 }] });
    const slices = [slice('web-1', 'web', 'IPv4', [ep('198.18.1.1', undefined, { nodeName: 'node-a' }), ep('198.18.2.1', undefined, { nodeName: 'node-b' })], [{ port: 8080 }])];
    const { frontends, edgeFrontends } = desired([svc], slices);
    const external = edgeFrontends[0];
    expect([external.kind, external.backends.length, external.externalBackends.map((b) => b.addr), external.healthCheckNodePort]).toEqual([
      'ExternalIP',
      2,
      ['198.18.1.1'],
      undefined,
    ]);
    const clusterIp = frontends.find((f) => f.kind === 'ClusterIP');
    expect(clusterIp?.externalBackends).toEqual(clusterIp?.backends);
  });
});
