import { decodeObject } from '../../lib/sources/decode_object';
import { Json } from '../../lib/sources/field_reader';

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
        metadata: { name: 'web', namespace: 'default', labels: {} },
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
        metadata: { name: 'web-1', namespace: 'shop', labels: { 'kubernetes.io/service-name': 'web' } },
        addressType: 'IPv4',
        endpoints: [{ addresses: ['198.18.1.1'], conditions: { ready: undefined, serving: undefined, terminating: false } }],
        ports: [{ name: undefined, port: 8080, protocol: 'TCP' }],
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
    ['no addresses', eps({ endpoints: [{ addresses: [] }] }), 'EndpointSlice shop/web-1: endpoints[0].addresses: must hold at least one address'],
    ['addresses missing', eps({ endpoints: [{}] }), 'EndpointSlice shop/web-1: endpoints[0].addresses: is required'],
    ['condition not a boolean', eps({ endpoints: [{ addresses: ['198.18.1.1'], conditions: { ready: 'yes' } }] }), 'EndpointSlice shop/web-1: endpoints[0].conditions.ready: must be true or false, got "yes"'],
    ['slice port out of range', eps({ ports: [{ port: 0 }] }), 'EndpointSlice shop/web-1: ports[0].port: must be an integer from 1 to 65535, got 0'],
    ['slice port protocol', eps({ ports: [{ port: 80, protocol: 'QUIC' }] }), 'EndpointSlice shop/web-1: ports[0].protocol: must be one of TCP, UDP, SCTP, got "QUIC"'],
  ])('%s', (_name, doc, message) => {
    expect(() => decodeObject(doc)).toThrow(message);
    try {
      decodeObject(doc);
    } catch (e) {
      expect((e as Error).message).toBe(message);
    }
  });
});
