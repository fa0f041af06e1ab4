import { locateBackends, nodeAddresses, PlacedBackend } from '../../lib/model/backend_location';
import { Node } from '../../lib/model/objects';
import { ALL_NODE_ADDRESSES, desired, ep, node, service, slice } from './objects';

const nodeObject = (name: string, addresses: [('InternalIP' | 'ExternalIP'), string][]): Node => ({
  metadata: { name, namespace: '', labels: {}, annotations: {} },
  status: { addresses: addresses.map(([type, address]) => ({ type, address })) },
});

// This node is node-a; node-b has both families, node-c IPv4 only.
const NODES = nodeAddresses([
  nodeObject('node-a', [['InternalIP', '198.18.0.1']]),
  nodeObject('node-b', [['ExternalIP', '198.19.0.2'], ['InternalIP', '198.18.0.2'], ['InternalIP', 'fd00:198:18::2']]),
  nodeObject('node-c', [['InternalIP', '198.18.0.3']]),
]);

const placed = (nodeName?: string, addr = '198.18.1.1'): PlacedBackend => ({ addr, port: 8080, nodeName });

describe('backend location', () => {
  test.each<[string, PlacedBackend, 'IPv4' | 'IPv6', string | undefined, string[]]>([
    ['no node name: this node routes it', placed(undefined), 'IPv4', undefined, []],
    ['empty node name: this node routes it', placed(''), 'IPv4', undefined, []],
    ['this node', placed('node-a'), 'IPv4', undefined, []],
    ['another node: its InternalIP of the family', placed('node-b'), 'IPv4', '198.18.0.2', []],
    ['another node, IPv6', placed('node-b', 'fd00:198:18:1::1'), 'IPv6', 'fd00:198:18::2', []],
    [
      'a node without an address of the family',
      placed('node-c', 'fd00:198:18:1::1'),
      'IPv6',
      undefined,
      ['backend [fd00:198:18:1::1]:8080 runs on node node-c, which has no IPv6 address; this node routes to it'],
    ],
    ['an unknown node', placed('node-x'), 'IPv4', undefined, ['backend 198.18.1.1:8080 runs on node node-x, which is not a known node; this node routes to it']],
  ])('%s', (_name, b, family, nodeAddr, unlocated) => {
    const got = locateBackends([b], family, node(), NODES);
    expect(got.backends).toEqual([nodeAddr === undefined ? { addr: b.addr, port: 8080 } : { addr: b.addr, port: 8080, nodeAddr }]);
    expect(got.unlocated).toEqual(unlocated);
  });

  test('edge frontends carry the locations; unlocated backends are warned about once per service', () => {
    const svc = service('web', { type: 'NodePort', clusterIP: '198.19.0.10', ports: [{ port: 80, nodePort: 30080 }] });
    const eps = [ep('198.18.1.1', undefined, { nodeName: 'node-a' }), ep('198.18.1.2', undefined, { nodeName: 'node-b' }), ep('198.18.1.3', undefined, { nodeName: 'node-x' })];
    const state = desired([svc], [slice('web-1', 'web', 'IPv4', eps, [{ port: 8080 }])], node(['198.18.0.1', '198.18.0.11']), ALL_NODE_ADDRESSES, NODES);
    expect(state.edgeFrontends.map((f) => f.externalBackends)).toEqual([
      [{ addr: '198.18.1.1', port: 8080 }, { addr: '198.18.1.2', port: 8080, nodeAddr: '198.18.0.2' }, { addr: '198.18.1.3', port: 8080 }],
      [{ addr: '198.18.1.1', port: 8080 }, { addr: '198.18.1.2', port: 8080, nodeAddr: '198.18.0.2' }, { addr: '198.18.1.3', port: 8080 }],
    ]);
    expect(state.warnings).toEqual(['Service default/web: backend 198.18.1.3:8080 runs on node node-x, which is not a known node; this node routes to it']);
    // The socket LB's view is unchanged: addresses only.
    expect(state.frontends[0].backends).toEqual([{ addr: '198.18.1.1', port: 8080 }, { addr: '198.18.1.2', port: 8080 }, { addr: '198.18.1.3', port: 8080 }]);
  });
});
