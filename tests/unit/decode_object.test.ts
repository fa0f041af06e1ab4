import { decodeDocument, decodeObject } from '../../lib/sources/decode_object';
import { Json } from '../../lib/sources/field_reader';
import { EndpointSlice } from '../../lib/model/objects';

const svc = (spec: Json, metadata: Json = { name: 'web', namespace: 'shop' }): Json => ({ apiVersion: 'v1', kind: 'Service', metadata, spec });
const eps = (body: Json, metadata: Json = { name: 'web-1', namespace: 'shop' }): Json => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { labels: { 'kubernetes.io/service-name': 'web' }, ...metadata },
  addressType: 'IPv4',
  ...body,
});

describe('valid objects decode to their typed form', () => {
  test('Service: namespace defaults, addresses become canonical, unknown fields are dropped', () => {
    const doc = svc(
      {
        type: 'ClusterIP',
        clusterIP: 'FD00:198:18::0010',
        clusterIPs: ['fd00:198:18::10', '198.19.0.10'],
        ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'dns', port: 53, protocol: 'UDP' }],
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
        selector: { app: 'web' },
      },
      { name: 'web' },
    );
    expect(decodeObject(doc)).toEqual({
      kind: 'Service',
      object: {
        metadata: { name: 'web', namespace: 'default', labels: {}, annotations: {} },
        spec: {
          type: 'ClusterIP',
          clusterIP: 'fd00:198:18::10',
          clusterIPs: ['fd00:198:18::10', '198.19.0.10'],
          ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }],
          sessionAffinity: 'ClientIP',
          sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
        },
      },
    });
  });

  test('EndpointSlice: null means unset', () => {
    const doc = eps({
      endpoints: [{ addresses: ['198.18.1.1'], conditions: { ready: null, terminating: false } }],
      ports: [{ name: null, port: 8080, protocol: 'TCP' }],
    });
    expect(decodeObject(doc)).toEqual({
      kind: 'EndpointSlice',
      object: {
        metadata: { name: 'web-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' }, annotations: {} },
        addressType: 'IPv4',
        endpoints: [{ address: '198.18.1.1', conditions: { ready: undefined, serving: undefined, terminating: false } }],
        ports: [{ name: undefined, port: 8080, protocol: 'TCP' }],
      },
    });
  });

  test('Service: node ports, external addresses, traffic policies and load balancer status', () => {
    const doc = {
      ...svc({
        type: 'LoadBalancer',
        clusterIPs: ['198.19.0.10', 'FD00:198:18::10'],
        ipFamilies: ['IPv4', 'IPv6'],
        ipFamilyPolicy: 'RequireDualStack',
        ports: [{ port: 80, nodePort: 30080 }],
        externalIPs: ['198.18.100.1', 'fd00:198:18::0100'],
        loadBalancerSourceRanges: [' 198.18.7.1/16 ', 'fd00:198:18:64::/64'],
        externalTrafficPolicy: 'Local',
        internalTrafficPolicy: 'Cluster',
        healthCheckNodePort: 32000,
        allocateLoadBalancerNodePorts: true,
      }),
      status: { loadBalancer: { ingress: [{ ip: '198.18.200.1', ipMode: 'VIP' }, { ip: 'fd00:198:18::200', ipMode: 'Proxy' }, { hostname: 'lb.example' }] } },
    };
    const decoded = decodeObject(doc);
    expect(decoded?.object).toEqual({
      metadata: { name: 'web', namespace: 'shop', labels: {}, annotations: {} },
      spec: {
        type: 'LoadBalancer',
        clusterIPs: ['198.19.0.10', 'fd00:198:18::10'],
        ports: [{ port: 80, nodePort: 30080 }],
        externalIPs: ['198.18.100.1', 'fd00:198:18::100'],
        loadBalancerSourceRanges: ['198.18.0.0/16', 'fd00:198:18:64::/64'],
        externalTrafficPolicy: 'Local',
        internalTrafficPolicy: 'Cluster',
        healthCheckNodePort: 32000,
      },
      status: { loadBalancer: { ingress: [{ ip: '198.18.200.1', ipMode: 'VIP' }, { ip: 'fd00:198:18::200', ipMode: 'Proxy' }, {}] } },
    });
  });

  test('EndpointSlice: annotations, node names and hints', () => {
    const doc = eps(
      {
        endpoints: [{ addresses: ['198.18.1.1'], nodeName: 'node-a', zone: 'zone-a', hints: { forZones: [{ name: 'zone-a' }], forNodes: [{ name: 'node-a' }] } }],
        ports: [{ port: 8080 }],
      },
      { name: 'web-1', namespace: 'shop', annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2025-01-02T03:04:05Z' } },
    );
    expect(decodeObject(doc)?.object).toEqual({
      metadata: {
        name: 'web-1',
        namespace: 'shop',
        labels: { 'kubernetes.io/service-name': 'web' },
        annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': '2025-01-02T03:04:05Z' },
      },
      addressType: 'IPv4',
      endpoints: [{ address: '198.18.1.1', nodeName: 'node-a', hints: { forZones: [{ name: 'zone-a' }], forNodes: [{ name: 'node-a' }] } }],
      ports: [{ port: 8080 }],
    });
  });

  test('EndpointSlice: an endpoint keeps its first address, the others are checked and dropped', () => {
    const doc = eps({ endpoints: [{ addresses: ['198.18.1.1', '198.18.1.9'] }], ports: [{ port: 8080 }] });
    expect((decodeObject(doc)?.object as EndpointSlice).endpoints).toEqual([{ address: '198.18.1.1' }]);
  });

  test('Node: cluster-scoped, IP addresses only', () => {
    const doc = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-a', namespace: 'ignored', labels: { 'topology.kubernetes.io/zone': 'zone-a' } },
      status: {
        addresses: [
          { type: 'Hostname', address: 'node-a' },
          { type: 'InternalIP', address: '198.18.0.1' },
          { type: 'InternalIP', address: 'FD00:198:18::0001' },
          { type: 'ExternalIP', address: '198.19.0.1' },
          { type: 'InternalDNS', address: 'node-a.example' },
        ],
      },
    };
    expect(decodeObject(doc)).toEqual({
      kind: 'Node',
      object: {
        metadata: { name: 'node-a', namespace: '', labels: { 'topology.kubernetes.io/zone': 'zone-a' }, annotations: {} },
        status: {
          addresses: [
            { type: 'InternalIP', address: '198.18.0.1' },
            { type: 'InternalIP', address: 'fd00:198:18::1' },
            { type: 'ExternalIP', address: '198.19.0.1' },
          ],
        },
      },
    });
    expect(decodeDocument(doc)).toMatchObject({ identity: 'Node node-a' });
  });

  test('Node: being deleted, and its taint keys', () => {
    const doc = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node-a', deletionTimestamp: '2025-01-02T03:04:05Z' },
      spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' }] },
    };
    expect(decodeObject(doc)).toEqual({
      kind: 'Node',
      object: {
        metadata: { name: 'node-a', namespace: '', labels: {}, annotations: {}, deletionTimestamp: '2025-01-02T03:04:05Z' },
        spec: { taints: [{ key: 'ToBeDeletedByClusterAutoscaler' }] },
        status: { addresses: [] },
      },
    });
  });

  test('other kinds are not ours', () => {
    expect(decodeObject({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' } })).toBeUndefined();
    expect(decodeObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'web' } })).toBeUndefined();
  });
});

describe('invalid objects name kind, namespace/name, field and problem', () => {
  test.each<[string, Json, string]>([
    ['missing name', svc({}, { namespace: 'shop' }), 'Service shop/<unnamed>: metadata.name: is required'],
    ['bad name', svc({}, { name: 'Web Shop' }), 'Service default/Web Shop: metadata.name: "Web Shop" is not a valid name (lowercase letters, digits, \'-\' and \'.\')'],
    ['no metadata', { apiVersion: 'v1', kind: 'Service', spec: {} }, 'Service default/<unnamed>: metadata: is required'],
    ['wrong apiVersion', { ...svc({}), apiVersion: 'v2' }, 'Service shop/web: apiVersion: must be v1, got "v2"'],
    ['slice beta apiVersion', { ...eps({}), apiVersion: 'discovery.k8s.io/v1beta1' }, 'EndpointSlice shop/web-1: apiVersion: must be discovery.k8s.io/v1, got "discovery.k8s.io/v1beta1"'],
    ['label not a string', svc({}, { name: 'web', namespace: 'shop', labels: { tier: 1 } }), 'Service shop/web: metadata.labels["tier"]: must be a string, got 1'],
    ['spec not an object', svc([] as unknown as Json), 'Service shop/web: spec: must be an object, got []'],
    ['port too big', svc({ clusterIP: '198.19.0.10', ports: [{ port: 70000 }] }), 'Service shop/web: spec.ports[0].port: must be an integer from 1 to 65535, got 70000'],
    ['port as string', svc({ ports: [{ port: '80' }] }), 'Service shop/web: spec.ports[0].port: must be an integer from 1 to 65535, got "80"'],
    ['port missing', svc({ ports: [{ name: 'http' }] }), 'Service shop/web: spec.ports[0].port: is required'],
    ['unknown protocol', svc({ ports: [{ port: 80, protocol: 'ICMP' }] }), 'Service shop/web: spec.ports[0].protocol: must be one of TCP, UDP, SCTP, got "ICMP"'],
    ['lowercase protocol', svc({ ports: [{ port: 80, protocol: 'tcp' }] }), 'Service shop/web: spec.ports[0].protocol: must be one of TCP, UDP, SCTP, got "tcp"'],
    ['unnamed port among several', svc({ ports: [{ name: 'a', port: 80 }, { port: 81 }] }), 'Service shop/web: spec.ports[1].name: is required when the service has more than one port'],
    ['duplicate port name', svc({ ports: [{ name: 'a', port: 80 }, { name: 'a', port: 81 }] }), 'Service shop/web: spec.ports[1].name: duplicate name "a"'],
    ['duplicate port', svc({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80, protocol: 'TCP' }] }), 'Service shop/web: spec.ports[1]: duplicate port 80/TCP'],
    ['bad clusterIP', svc({ clusterIP: '198.19.0.300' }), 'Service shop/web: spec.clusterIP: "198.19.0.300" is not a valid IP address'],
    ['clusterIP with zone', svc({ clusterIP: 'fd00::1%eth0' }), 'Service shop/web: spec.clusterIP: "fd00::1%eth0" is not a valid IP address'],
    ['three clusterIPs', svc({ clusterIPs: ['198.19.0.1', 'fd00:198:18::1', '198.19.0.2'] }), 'Service shop/web: spec.clusterIPs: may hold at most one address per family, got 3'],
    ['two of one family', svc({ clusterIPs: ['198.19.0.1', '198.19.0.2'] }), 'Service shop/web: spec.clusterIPs[1]: must be of the other IP family than spec.clusterIPs[0]'],
    ['clusterIPs disagree with clusterIP', svc({ clusterIP: '198.19.0.1', clusterIPs: ['198.19.0.2'] }), 'Service shop/web: spec.clusterIPs[0]: must match spec.clusterIP (198.19.0.1)'],
    ['None among others', svc({ clusterIPs: ['None', '198.19.0.2'] }), 'Service shop/web: spec.clusterIPs[0]: "None" must be the only entry'],
    ['unknown type', svc({ type: 'Ingress' }), 'Service shop/web: spec.type: must be one of ClusterIP, NodePort, LoadBalancer, ExternalName, got "Ingress"'],
    ['unknown affinity', svc({ sessionAffinity: 'Cookie' }), 'Service shop/web: spec.sessionAffinity: must be one of None, ClientIP, got "Cookie"'],
    ['affinity timeout 0', svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 0 } } }), 'Service shop/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: must be an integer from 1 to 86400, got 0'],
    ['affinity timeout over a day', svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 86401 } } }), 'Service shop/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: must be an integer from 1 to 86400, got 86401'],
    ['affinity timeout fraction', svc({ sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 1.5 } } }), 'Service shop/web: spec.sessionAffinityConfig.clientIP.timeoutSeconds: must be an integer from 1 to 86400, got 1.5'],
    ['slice without addressType', eps({ addressType: undefined }), 'EndpointSlice shop/web-1: addressType: is required'],
    ['slice unknown addressType', eps({ addressType: 'IPv5' }), 'EndpointSlice shop/web-1: addressType: must be one of IPv4, IPv6, FQDN, got "IPv5"'],
    ['IPv6 address in IPv4 slice', eps({ endpoints: [{ addresses: ['fd00:198:18::1'] }] }), 'EndpointSlice shop/web-1: endpoints[0].addresses[0]: "fd00:198:18::1" is not an IPv4 address'],
    ['bad address', eps({ endpoints: [{ addresses: ['198.18.1.1'] }, { addresses: ['198.18.1'] }] }), 'EndpointSlice shop/web-1: endpoints[1].addresses[0]: "198.18.1" is not a valid IP address'],
    ['bad second address', eps({ endpoints: [{ addresses: ['198.18.1.1', '198.18.1'] }] }), 'EndpointSlice shop/web-1: endpoints[0].addresses[1]: "198.18.1" is not a valid IP address'],
    ['no addresses', eps({ endpoints: [{ addresses: [] }] }), 'EndpointSlice shop/web-1: endpoints[0].addresses: must hold at least one address'],
    ['addresses missing', eps({ endpoints: [{}] }), 'EndpointSlice shop/web-1: endpoints[0].addresses: is required'],
    ['condition not a boolean', eps({ endpoints: [{ addresses: ['198.18.1.1'], conditions: { ready: 'yes' } }] }), 'EndpointSlice shop/web-1: endpoints[0].conditions.ready: must be true or false, got "yes"'],
    ['slice port out of range', eps({ ports: [{ port: 0 }] }), 'EndpointSlice shop/web-1: ports[0].port: must be an integer from 1 to 65535, got 0'],
    ['slice port protocol', eps({ ports: [{ port: 80, protocol: 'QUIC' }] }), 'EndpointSlice shop/web-1: ports[0].protocol: must be one of TCP, UDP, SCTP, got "QUIC"'],
    ['annotation not a string', svc({}, { name: 'web', namespace: 'shop', annotations: { a: true } }), 'Service shop/web: metadata.annotations["a"]: must be a string, got true'],
    ['nodePort on a ClusterIP service', svc({ ports: [{ port: 80, nodePort: 30080 }] }), 'Service shop/web: spec.ports[0].nodePort: may not be used when spec.type is ClusterIP'],
    ['nodePort out of range', svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 0 }] }), 'Service shop/web: spec.ports[0].nodePort: must be an integer from 1 to 65535, got 0'],
    ['nodePort above 65535', svc({ type: 'NodePort', ports: [{ port: 80, nodePort: 65536 }] }), 'Service shop/web: spec.ports[0].nodePort: must be an integer from 1 to 65535, got 65536'],
    ['link-local external IP', svc({ externalIPs: ['169.254.169.254'] }), 'Service shop/web: spec.externalIPs[0]: 169.254.169.254 is link-local (169.254.0.0/16)'],
    ['IPv6 link-local external IP', svc({ externalIPs: ['fe80::1'] }), 'Service shop/web: spec.externalIPs[0]: fe80::1 is link-local (fe80::/10)'],
    [
      'duplicate nodePort',
      svc({ type: 'NodePort', ports: [{ name: 'a', port: 80, nodePort: 30080 }, { name: 'b', port: 81, nodePort: 30080 }] }),
      'Service shop/web: spec.ports[1].nodePort: duplicate nodePort 30080/TCP',
    ],
    ['bad external IP', svc({ externalIPs: ['198.18.100'] }), 'Service shop/web: spec.externalIPs[0]: "198.18.100" is not a valid IP address'],
    ['loopback external IP', svc({ externalIPs: ['198.18.100.1', '127.0.0.1'] }), 'Service shop/web: spec.externalIPs[1]: 127.0.0.1 is loopback (127.0.0.0/8)'],
    ['unspecified external IP', svc({ externalIPs: ['::'] }), 'Service shop/web: spec.externalIPs[0]: :: is unspecified (::/128)'],
    ['bad source range', svc({ type: 'LoadBalancer', loadBalancerSourceRanges: ['198.18.0.0/33'] }), 'Service shop/web: spec.loadBalancerSourceRanges[0]: "198.18.0.0/33" is not a valid CIDR'],
    ['source ranges without a load balancer', svc({ type: 'NodePort', loadBalancerSourceRanges: ['198.18.0.0/16'] }), 'Service shop/web: spec.loadBalancerSourceRanges: may only be used when spec.type is LoadBalancer'],
    ['unknown traffic policy', svc({ externalTrafficPolicy: 'Nearby' }), 'Service shop/web: spec.externalTrafficPolicy: must be one of Cluster, Local, got "Nearby"'],
    [
      'health check port without Local',
      svc({ type: 'LoadBalancer', healthCheckNodePort: 32000 }),
      'Service shop/web: spec.healthCheckNodePort: may only be set when spec.type is LoadBalancer and spec.externalTrafficPolicy is Local',
    ],
    ['unknown family', svc({ ipFamilies: ['IPv5'] }), 'Service shop/web: spec.ipFamilies[0]: must be one of IPv4, IPv6, got "IPv5"'],
    ['duplicate family', svc({ ipFamilies: ['IPv4', 'IPv4'] }), 'Service shop/web: spec.ipFamilies[1]: duplicate family IPv4'],
    ['family disagrees with cluster IP', svc({ clusterIP: '198.19.0.10', ipFamilies: ['IPv6'] }), 'Service shop/web: spec.ipFamilies[0]: is IPv6, but spec.clusterIPs[0] (198.19.0.10) is IPv4'],
    ['bad ingress IP', { ...svc({ type: 'LoadBalancer' }), status: { loadBalancer: { ingress: [{ ip: 'lb' }] } } }, 'Service shop/web: status.loadBalancer.ingress[0].ip: "lb" is not a valid IP address'],
    [
      'unknown ipMode',
      { ...svc({ type: 'LoadBalancer' }), status: { loadBalancer: { ingress: [{ ip: '198.18.200.1', ipMode: 'DSR' }] } } },
      'Service shop/web: status.loadBalancer.ingress[0].ipMode: must be one of VIP, Proxy, got "DSR"',
    ],
    [
      'ipMode without ip',
      { ...svc({ type: 'LoadBalancer' }), status: { loadBalancer: { ingress: [{ hostname: 'lb.example', ipMode: 'VIP' }] } } },
      'Service shop/web: status.loadBalancer.ingress[0].ipMode: may only be set together with ip',
    ],
    ['nodeName not a string', eps({ endpoints: [{ addresses: ['198.18.1.1'], nodeName: 7 }] }), 'EndpointSlice shop/web-1: endpoints[0].nodeName: must be a string, got 7'],
    ['hint without a name', eps({ endpoints: [{ addresses: ['198.18.1.1'], hints: { forZones: [{}] } }] }), 'EndpointSlice shop/web-1: endpoints[0].hints.forZones[0].name: is required'],
    ['hints not a list', eps({ endpoints: [{ addresses: ['198.18.1.1'], hints: { forNodes: 'node-a' } }] }), 'EndpointSlice shop/web-1: endpoints[0].hints.forNodes: must be a list, got "node-a"'],
    ['Node apiVersion', { apiVersion: 'v2', kind: 'Node', metadata: { name: 'node-a' } }, 'Node node-a: apiVersion: must be v1, got "v2"'],
    [
      'Node address not an IP',
      { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: 'node-a' }] } },
      'Node node-a: status.addresses[0].address: "node-a" is not a valid IP address',
    ],
    ['Node taint key missing', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, spec: { taints: [{ effect: 'NoSchedule' }] } }, 'Node node-a: spec.taints[0].key: is required'],
    ['Node address type missing', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' }, status: { addresses: [{ address: '198.18.0.1' }] } }, 'Node node-a: status.addresses[0].type: is required'],
  ])('%s', (_name, doc, message) => {
    expect(() => decodeObject(doc)).toThrow(message);
    try {
      decodeObject(doc);
    } catch (e) {
      expect((e as Error).message).toBe(message);
    }
  });
});

describe('ServiceCIDR', () => {
  const range = (cidrs: unknown): Json => ({ apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'kubernetes' }, spec: { cidrs } });

  test('cluster-scoped, its CIDRs canonical', () => {
    expect(decodeObject(range(['198.19.7.1/16', 'FD00:198:19::/108']))).toEqual({
      kind: 'ServiceCIDR',
      object: { metadata: { name: 'kubernetes', namespace: '', labels: {}, annotations: {} }, cidrs: ['198.19.0.0/16', 'fd00:198:19::/108'] },
    });
  });

  test.each([
    [['198.19.0.0/16', '198.20.0.0/16'], 'ServiceCIDR kubernetes: spec.cidrs: may hold at most one CIDR per family'],
    [['198.19.0.0/16', 'fd00::/64', '198.20.0.0/16'], 'ServiceCIDR kubernetes: spec.cidrs: may hold at most one CIDR per family, got 3'],
    [['198.19.0.0/33'], 'ServiceCIDR kubernetes: spec.cidrs[0]: "198.19.0.0/33" is not a valid CIDR'],
    ['198.19.0.0/16', 'ServiceCIDR kubernetes: spec.cidrs: must be a list, got "198.19.0.0/16"'],
  ])('%j is refused', (cidrs, message) => {
    expect(() => decodeObject(range(cidrs))).toThrow(message);
  });
});

describe('what the API accepts, kpr accepts', () => {
  test('one nodePort for a TCP and a UDP port; an empty loadBalancerSourceRanges on any type', () => {
    const shared = decodeDocument(svc({ type: 'NodePort', clusterIP: '198.19.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }, { name: 'dns-tcp', port: 53, protocol: 'TCP', nodePort: 30053 }] }));
    expect(shared).toMatchObject({ object: { kind: 'Service' } });
    const empty = decodeDocument(svc({ type: 'NodePort', clusterIP: '198.19.0.10', loadBalancerSourceRanges: [], ports: [{ port: 80, nodePort: 30080 }] }));
    expect(empty).toMatchObject({ object: { kind: 'Service' } });
  });

  test("a slice at the API server's limits (1000 endpoints, 100 ports) decodes; one more is refused", () => {
    const ports = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `p${i}`, port: 1000 + i }));
    const endpoints = (n: number) => Array.from({ length: n }, (_, i) => ({ addresses: [`198.18.${i >> 8}.${i & 255}`] }));
    expect(decodeDocument(eps({ ports: ports(100), endpoints: endpoints(1000) }))).toMatchObject({ object: { kind: 'EndpointSlice' } });
    expect(() => decodeObject(eps({ ports: ports(101), endpoints: endpoints(1) }))).toThrow('EndpointSlice shop/web-1: ports: may hold at most 100 entries, got 101');
    expect(() => decodeObject(eps({ ports: ports(1), endpoints: endpoints(1001) }))).toThrow('EndpointSlice shop/web-1: endpoints: may hold at most 1000 entries, got 1001');
  });
});
