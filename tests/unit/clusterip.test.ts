import { clusterIPs } from '../../lib/model/service_types/clusterip';
import { EndpointSlice, Service, ServiceSpec } from '../../lib/model/objects';
import { ALL_NODE_ADDRESSES, desired, ep, frontend, node, service, slice } from './objects';

const clusterIpFrontends = (svc: Service, slices: EndpointSlice[]) => desired([svc], slices).frontends.filter((f) => f.kind === 'ClusterIP');

describe('which cluster IPs a service has', () => {
  test.each<[string, ServiceSpec, string[]]>([
    ['clusterIP alone', { clusterIP: '198.19.0.10' }, ['198.19.0.10']],
    ['clusterIPs wins over clusterIP', { clusterIP: '198.19.0.10', clusterIPs: ['198.19.0.10', 'fd00:198:18::10'] }, ['198.19.0.10', 'fd00:198:18::10']],
    ['IPv6 first', { clusterIPs: ['fd00:198:18::10', '198.19.0.10'] }, ['fd00:198:18::10', '198.19.0.10']],
    ['empty clusterIPs falls back', { clusterIP: '198.19.0.10', clusterIPs: [] }, ['198.19.0.10']],
    ['headless', { clusterIP: 'None' }, []],
    ['headless in clusterIPs', { clusterIP: 'None', clusterIPs: ['None'] }, []],
    ['not allocated', {}, []],
    ['ExternalName', { type: 'ExternalName', clusterIP: '198.19.0.10' }, []],
    ['NodePort has its ClusterIP', { type: 'NodePort', clusterIP: '198.19.0.10' }, ['198.19.0.10']],
    ['LoadBalancer has its ClusterIP', { type: 'LoadBalancer', clusterIP: '198.19.0.10' }, ['198.19.0.10']],
  ])('%s', (_name, spec, want) => {
    expect(clusterIPs(spec)).toEqual(want);
  });
});

describe('ClusterIP frontends', () => {
  test('dual-stack: each cluster IP takes the endpoints of its own family; FQDN slices serve none', () => {
    const svc = service('web', { clusterIPs: ['198.19.0.10', 'fd00:198:18::10'], ports: [{ port: 80 }] });
    const slices = [
      slice('web-v4', 'web', 'IPv4', [ep('198.18.1.1')], [{ port: 8080 }]),
      slice('web-v6', 'web', 'IPv6', [ep('fd00:198:18:1::1')], [{ port: 8080 }]),
      slice('web-fqdn', 'web', 'FQDN', [ep('web.example')], [{ port: 8080 }]),
    ];
    expect(clusterIpFrontends(svc, slices).map((f) => [f.addr, f.backends])).toEqual([
      ['198.19.0.10', [{ addr: '198.18.1.1', port: 8080 }]],
      ['fd00:198:18::10', [{ addr: 'fd00:198:18:1::1', port: 8080 }]],
    ]);
  });

  test('multi-port, TCP and UDP on one port are distinct, named ports resolve per slice', () => {
    const svc = service(
      'dns',
      {
        clusterIP: '198.19.0.53',
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153 },
        ],
      },
      'kube-system',
    );
    const ports = (dns: number) => [
      { name: 'dns', port: dns, protocol: 'UDP' as const },
      { name: 'dns-tcp', port: dns, protocol: 'TCP' as const },
      { name: 'metrics', port: 9153 },
    ];
    const slices = [
      slice('dns-a', 'dns', 'IPv4', [ep('198.18.2.1')], ports(53), 'kube-system'),
      // Another pod template resolved the named targetPort to another number.
      slice('dns-b', 'dns', 'IPv4', [ep('198.18.2.2')], ports(5353), 'kube-system'),
    ];
    expect(clusterIpFrontends(svc, slices).map((f) => [f.proto, f.port, f.portName, f.serviceName, f.backends])).toEqual([
      ['TCP', 53, 'dns-tcp', 'kube-system/dns', [{ addr: '198.18.2.1', port: 53 }, { addr: '198.18.2.2', port: 5353 }]],
      ['UDP', 53, 'dns', 'kube-system/dns', [{ addr: '198.18.2.1', port: 53 }, { addr: '198.18.2.2', port: 5353 }]],
      ['TCP', 9153, 'metrics', 'kube-system/dns', [{ addr: '198.18.2.1', port: 9153 }, { addr: '198.18.2.2', port: 9153 }]],
    ]);
  });

  test('backends are sorted and unique across slices', () => {
    const svc = service('web', { clusterIP: '198.19.0.10', ports: [{ port: 80 }] });
    const slices = [
      slice('web-b', 'web', 'IPv4', [ep('198.18.1.3'), { address: '198.18.1.1' }], [{ port: 8080 }]),
      slice('web-a', 'web', 'IPv4', [ep('198.18.1.2'), ep('198.18.1.1')], [{ port: 8080 }]),
    ];
    expect(clusterIpFrontends(svc, slices)[0].backends.map((b) => b.addr)).toEqual(['198.18.1.1', '198.18.1.2', '198.18.1.3']);
  });

  test('without usable endpoints the frontend is still there, with no backends', () => {
    const svc = service('web', { clusterIP: '198.19.0.10', ports: [{ port: 80 }] });
    const slices = [slice('web-a', 'web', 'IPv4', [ep('198.18.1.1', { ready: false })], [{ port: 8080 }])];
    expect(clusterIpFrontends(svc, slices)).toEqual([frontend()]);
  });

  test('terminating endpoints serve only when no endpoint is ready', () => {
    const svc = service('web', { clusterIP: '198.19.0.10', ports: [{ port: 80 }] });
    const terminating = ep('198.18.1.1', { ready: false, serving: true, terminating: true });
    const withReady = [slice('a', 'web', 'IPv4', [terminating, ep('198.18.1.2')], [{ port: 80 }])];
    const withoutReady = [slice('a', 'web', 'IPv4', [terminating], [{ port: 80 }])];
    expect(clusterIpFrontends(svc, withReady)[0].backends.map((b) => b.addr)).toEqual(['198.18.1.2']);
    expect(clusterIpFrontends(svc, withoutReady)[0].backends.map((b) => b.addr)).toEqual(['198.18.1.1']);
  });

  test('a ready copy of an endpoint in another slice beats its terminating copy', () => {
    const svc = service('web', { clusterIP: '198.19.0.10', ports: [{ port: 80 }] });
    const slices = [
      slice('a', 'web', 'IPv4', [ep('198.18.1.1', { ready: false, serving: true, terminating: true }), ep('198.18.1.2')], [{ port: 80 }]),
      slice('b', 'web', 'IPv4', [ep('198.18.1.1')], [{ port: 80 }]),
    ];
    expect(clusterIpFrontends(svc, slices)[0].backends.map((b) => b.addr)).toEqual(['198.18.1.1', '198.18.1.2']);
  });

  test('session affinity applies to every frontend of the service', () => {
    const svc = service('web', {
      clusterIPs: ['198.19.0.10', 'fd00:198:18::10'],
      ports: [{ name: 'a', port: 80 }, { name: 'b', port: 81 }],
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 30 } },
    });
    expect(clusterIpFrontends(svc, []).map((f) => f.affinityTimeout)).toEqual([30, 30, 30, 30]);
  });
});

describe('ClusterIPs for routed clients (--bpf-lb-external-clusterip)', () => {
  const ROUTED = { ...ALL_NODE_ADDRESSES, externalClusterIP: true };
  const NODES = new Map([['node-b', ['198.18.0.2', 'fd00:198:18::2']]]);
  const svc = (spec: Partial<ServiceSpec> = {}, annotations: Record<string, string> = {}) => {
    const s = service('web', { clusterIPs: ['198.19.0.10'], ports: [{ name: 'http', port: 80, nodePort: 30080 }], type: 'NodePort', ...spec });
    return { ...s, metadata: { ...s.metadata, annotations } };
  };
  const slices = [slice('web-v4', 'web', 'IPv4', [ep('198.18.1.1', undefined, { nodeName: 'node-a' }), ep('198.18.2.1', undefined, { nodeName: 'node-b' })], [{ name: 'http', port: 8080 }])];
  const edgeClusterIps = (s: Service, config = ROUTED) => desired([s], slices, node(), config, NODES).edgeFrontends.filter((f) => f.kind === 'ClusterIP');

  test('off (the default): the edge LB has no ClusterIP; on: each ClusterIP, its backends located, in an edge service of its own', () => {
    expect(edgeClusterIps(svc(), ALL_NODE_ADDRESSES)).toEqual([]);
    const [f] = edgeClusterIps(svc());
    expect(f).toMatchObject({
      addr: '198.19.0.10',
      port: 80,
      backends: [{ addr: '198.18.1.1', port: 8080 }, { addr: '198.18.2.1', port: 8080 }],
      externalBackends: [{ addr: '198.18.1.1', port: 8080 }, { addr: '198.18.2.1', port: 8080, nodeAddr: '198.18.0.2' }],
      forwardingMode: 'snat',
      lbAlgorithm: 'maglev',
      sourceRanges: [],
      dropWithoutBackends: false,
      edgeService: 'default/web|http|IPv4|cluster',
    });
    // The NodePort's own edge service is another: its set follows externalTrafficPolicy.
    const nodePort = desired([svc()], slices, node(), ROUTED, NODES).edgeFrontends.find((x) => x.kind === 'NodePort');
    expect(nodePort?.edgeService).toBe('default/web|http|IPv4');
    // The socket LB serves the same frontend with the same set as without the flag.
    const plain = desired([svc()], slices, node(), ALL_NODE_ADDRESSES, NODES).frontends.find((x) => x.kind === 'ClusterIP');
    expect(desired([svc()], slices, node(), ROUTED, NODES).frontends.find((x) => x.kind === 'ClusterIP')?.backends).toEqual(plain?.backends);
  });

  test('internalTrafficPolicy Local applies to routed clients too: the local endpoint only; none here: dropped, not rejected', () => {
    expect(edgeClusterIps(svc({ internalTrafficPolicy: 'Local' }))[0].externalBackends).toEqual([{ addr: '198.18.1.1', port: 8080 }]);
    expect(edgeClusterIps(svc({ externalTrafficPolicy: 'Local' }))[0].externalBackends).toHaveLength(2);
    const remoteOnly = [slice('web-v4', 'web', 'IPv4', [ep('198.18.2.1', undefined, { nodeName: 'node-b' })], [{ name: 'http', port: 8080 }])];
    const [f] = desired([svc({ internalTrafficPolicy: 'Local' })], remoteOnly, node(), ROUTED, NODES).edgeFrontends.filter((x) => x.kind === 'ClusterIP');
    expect(f).toMatchObject({ externalBackends: [], dropWithoutBackends: true });
  });

  test("the service's forwarding-mode annotation applies, and a backend on an unknown node is reported", () => {
    expect(edgeClusterIps(svc({}, { 'service.cilium.io/forwarding-mode': 'dsr' }))[0].forwardingMode).toBe('dsr');
    const lost = [slice('web-v4', 'web', 'IPv4', [ep('198.18.3.1', undefined, { nodeName: 'node-z' })], [{ name: 'http', port: 8080 }])];
    const clusterOnly = service('web', { clusterIPs: ['198.19.0.10'], ports: [{ name: 'http', port: 80 }] });
    expect(desired([clusterOnly], lost, node(), ROUTED, NODES).warnings).toEqual([
      'Service default/web: backend 198.18.3.1:8080 runs on node node-z, which is not a known node; this node routes to it',
    ]);
    expect(desired([clusterOnly], lost, node(), ALL_NODE_ADDRESSES, NODES).warnings).toEqual([]);
  });
});
