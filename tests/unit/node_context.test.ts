import { nodeContext, rankedAddresses } from '../../lib/model/node_context';
import { Node } from '../../lib/model/objects';

const nodeObject = (addresses: ['InternalIP' | 'ExternalIP', string][]): Node => ({
  metadata: { name: 'node-a', namespace: '', labels: { 'topology.kubernetes.io/zone': 'zone-a' }, annotations: {} },
  status: { addresses: addresses.map(([type, address]) => ({ type, address })) },
});

test('a Node as the model sees it: name, labels, each IP address once, InternalIP before ExternalIP', () => {
  const node = nodeObject([
    ['ExternalIP', '198.19.0.1'],
    ['InternalIP', '198.18.0.1'],
    ['InternalIP', 'fd00:198:18::1'],
    ['ExternalIP', '198.18.0.1'],
  ]);
  expect(nodeContext(node)).toEqual({
    name: 'node-a',
    labels: { 'topology.kubernetes.io/zone': 'zone-a' },
    addresses: ['198.18.0.1', 'fd00:198:18::1', '198.19.0.1'],
  });
  expect(nodeContext({ metadata: node.metadata }).addresses).toEqual([]);
});

test.each<[string, ['InternalIP' | 'ExternalIP', string][], string[]]>([
  ['InternalIP first, whatever the Node lists first', [['ExternalIP', '198.19.0.2'], ['InternalIP', '198.18.0.2']], ['198.18.0.2', '198.19.0.2']],
  ['an address that is both, once, as an InternalIP', [['ExternalIP', '198.18.0.2'], ['InternalIP', '198.18.0.2'], ['ExternalIP', '198.19.0.2']], ['198.18.0.2', '198.19.0.2']],
  ['ExternalIPs alone', [['ExternalIP', 'fd00:198:18::2'], ['ExternalIP', '198.19.0.2']], ['fd00:198:18::2', '198.19.0.2']],
  ['none', [], []],
])('ranked addresses: %s', (_name, addresses, want) => {
  expect(rankedAddresses(nodeObject(addresses))).toEqual(want);
});
