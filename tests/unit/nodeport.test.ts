import { formatFrontend } from '../../lib/model/frontend';
import { ServiceSpec } from '../../lib/model/objects';
import { ALL_NODE_ADDRESSES, desired, ep, node, service, slice } from './objects';

const ADDRS = ['198.18.0.1', '198.19.0.1', 'fd00:198:18::1', 'fd00:198:18:1::1'];

describe('NodePort frontends', () => {
  const spec = (more: ServiceSpec): ServiceSpec => ({ clusterIP: '198.19.0.10', ports: [{ port: 80, nodePort: 30080 }], ...more });
  const nodePorts = (s: ServiceSpec, addrs = ['198.18.0.1']) =>
    desired([service('web', s)], [], node(addrs)).edgeFrontends.filter((f) => f.kind === 'NodePort').map(formatFrontend);

  test.each<[string, ServiceSpec, string[]]>([
    ['NodePort', spec({ type: 'NodePort' }), ['198.18.0.1:30080/TCP']],
    ['LoadBalancer', spec({ type: 'LoadBalancer' }), ['198.18.0.1:30080/TCP']],
    ['LoadBalancer without node ports (allocateLoadBalancerNodePorts false)', spec({ type: 'LoadBalancer', ports: [{ port: 80 }] }), []],
    ['ClusterIP has none', spec({}), []],
    ['headless has none', spec({ type: 'NodePort', clusterIP: 'None' }), []],
    [
      'one per port and protocol',
      spec({ type: 'NodePort', ports: [{ name: 'dns', port: 53, nodePort: 30053, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, nodePort: 30053 }] }),
      ['198.18.0.1:30053/TCP', '198.18.0.1:30053/UDP'],
    ],
  ])('%s', (_name, s, want) => {
    expect(nodePorts(s)).toEqual(want);
  });

  test('each family the service has, on every node address of that family', () => {
    const dual = spec({ type: 'NodePort', clusterIPs: ['198.19.0.10', 'fd00:198:18::10'] });
    expect(nodePorts(dual, ADDRS).sort()).toEqual(['198.18.0.1:30080/TCP', '198.19.0.1:30080/TCP', '[fd00:198:18:1::1]:30080/TCP', '[fd00:198:18::1]:30080/TCP']);
    const v4 = spec({ type: 'NodePort' });
    expect(nodePorts(v4, ADDRS)).toEqual(['198.18.0.1:30080/TCP', '198.19.0.1:30080/TCP']);
  });

  test("the interfaces' addresses serve them too, from outside (edge) and from the node itself (socket LB); loopback and link-local do not", () => {
    const on = node(['198.18.0.1'], 'node-a', 'zone-a', ['127.0.0.1', '198.18.0.1', '198.18.0.77', '::1', 'fe80::1']);
    const { frontends, edgeFrontends } = desired([service('web', spec({ type: 'NodePort' }))], [], on);
    const nodePortsOf = (fs: typeof frontends) => fs.filter((f) => f.kind === 'NodePort').map(formatFrontend);
    expect(nodePortsOf(edgeFrontends)).toEqual(['198.18.0.1:30080/TCP', '198.18.0.77:30080/TCP']);
    expect(nodePortsOf(frontends)).toEqual(['198.18.0.1:30080/TCP', '198.18.0.77:30080/TCP']);
  });

  describe('localhost NodePorts (--iptables-localhost-nodeports)', () => {
    const LOCALHOST = { ...ALL_NODE_ADDRESSES, localhostNodePorts: true };
    const dual = service('web', spec({ type: 'NodePort', clusterIPs: ['198.19.0.10', 'fd00:198:18::10'], externalTrafficPolicy: 'Local' }));
    const slices = [
      slice('web-v4', 'web', 'IPv4', [ep('198.18.1.1', undefined, { nodeName: 'node-b' })], [{ port: 8080 }]),
      slice('web-v6', 'web', 'IPv6', [ep('fd00:198:18:1::5', undefined, { nodeName: 'node-b' })], [{ port: 8080 }]),
    ];
    const loopback = <F extends { addr: string }>(fs: F[]) => fs.filter((f) => f.addr === '127.0.0.1' || f.addr === '::1');

    test("127.0.0.1 and ::1 in the socket LB's view alone, with the set for traffic from the node (eTP=Local short-circuited)", () => {
      const d = desired([dual], slices, node(ADDRS), { ...LOCALHOST, podPath: true });
      expect(loopback(d.frontends).map((f) => [formatFrontend(f), f.kind, f.backends.map((b) => b.addr)])).toEqual([
        ['127.0.0.1:30080/TCP', 'NodePort', ['198.18.1.1']],
        ['[::1]:30080/TCP', 'NodePort', ['fd00:198:18:1::5']],
      ]);
      expect(loopback(d.edgeFrontends)).toEqual([]);
      expect(loopback(d.podFrontends)).toEqual([]);
      // Off, or outside what nodePortAddresses takes in: none.
      expect(loopback(desired([dual], slices, node(ADDRS)).frontends)).toEqual([]);
      expect(loopback(desired([dual], slices, node(ADDRS), { ...LOCALHOST, nodePortAddresses: ['primary'] }).frontends)).toEqual([]);
    });

    test.each<[string[], string[]]>([
      [['localhost'], ['127.0.0.1', '::1']],
      [['127.0.0.0/8'], ['127.0.0.1', '::1']], // a family no entry is of takes all its addresses
      [['127.0.0.0/8', 'fd00:198:18::/48'], ['127.0.0.1']],
      [['198.18.0.0/15'], ['::1']],
      [['all'], ['127.0.0.1', '::1']],
      [['primary'], []],
    ])('nodePortAddresses %j: loopback %j', (entries, want) => {
      const d = desired([dual], slices, node(ADDRS), { ...LOCALHOST, nodePortAddresses: entries });
      expect(loopback(d.frontends).map((f) => f.addr)).toEqual(want);
    });
  });

  test('nodePortAddresses narrows them', () => {
    const s = service('web', spec({ type: 'NodePort', clusterIPs: ['198.19.0.10', 'fd00:198:18::10'] }));
    const { edgeFrontends } = desired([s], [], node(ADDRS), { ...ALL_NODE_ADDRESSES, nodePortAddresses: ['198.19.0.0/16'] });
    expect(edgeFrontends.map((f) => f.addr).sort()).toEqual(['198.19.0.1', 'fd00:198:18:1::1', 'fd00:198:18::1']);
  });

  test('each family takes the endpoints of its own family', () => {
    const s = service('web', spec({ type: 'NodePort', clusterIPs: ['198.19.0.10', 'fd00:198:18::10'] }));
    const slices = [
      slice('web-v4', 'web', 'IPv4', [ep('198.18.1.1')], [{ port: 8080 }]),
      slice('web-v6', 'web', 'IPv6', [ep('fd00:198:18:1::5')], [{ port: 8080 }]),
    ];
    const { edgeFrontends } = desired([s], slices, node(['198.18.0.1', 'fd00:198:18::1']));
    expect(edgeFrontends.map((f) => [f.addr, f.backends.map((b) => b.addr)])).toEqual([
      ['198.18.0.1', ['198.18.1.1']],
      ['fd00:198:18::1', ['fd00:198:18:1::5']],
    ]);
  });

  test('externalTrafficPolicy Local: local endpoints from outside, all from this node; health check port on LoadBalancers', () => {
    const slices = [slice('web-1', 'web', 'IPv4', [ep('198.18.1.1', undefined, { nodeName: 'node-a' }), ep('198.18.2.1', undefined, { nodeName: 'node-b' })], [{ port: 8080 }])];
    const lb = service('web', spec({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 }));
    const [f] = desired([lb], slices).edgeFrontends;
    expect([f.kind, f.backends.map((b) => b.addr), f.externalBackends.map((b) => b.addr), f.healthCheckNodePort]).toEqual([
      'NodePort',
      ['198.18.1.1', '198.18.2.1'],
      ['198.18.1.1'],
      32000,
    ]);
    const np = service('web', spec({ type: 'NodePort', externalTrafficPolicy: 'Local' }));
    expect(desired([np], slices).edgeFrontends[0].healthCheckNodePort).toBeUndefined();
  });

  test('externalTrafficPolicy Local with endpoints only elsewhere drops; without any endpoint, or Cluster, it does not', () => {
    const elsewhere = [slice('web-1', 'web', 'IPv4', [ep('198.18.2.1', undefined, { nodeName: 'node-b' })], [{ port: 8080 }])];
    const local = service('web', spec({ type: 'NodePort', externalTrafficPolicy: 'Local' }));
    const cluster = service('web', spec({ type: 'NodePort' }));
    expect(desired([local], elsewhere).edgeFrontends.map((f) => f.dropWithoutBackends)).toEqual([true]);
    expect(desired([local], []).edgeFrontends.map((f) => f.dropWithoutBackends)).toEqual([false]);
    expect(desired([cluster], elsewhere).edgeFrontends.map((f) => f.dropWithoutBackends)).toEqual([false]);
  });
});
