import { nodeContext } from '../../lib/model/node_context';

test('a Node as the model sees it: name, labels, each IP address once in the Node order', () => {
  const node = {
    metadata: { name: 'node-a', namespace: '', labels: { 'topology.kubernetes.io/zone': 'zone-a' }, annotations: {} },
    status: {
      addresses: [
        { type: 'InternalIP' as const, address: '198.18.0.1' },
        { type: 'InternalIP' as const, address: 'fd00:198:18::1' },
        { type: 'ExternalIP' as const, address: '198.19.0.1' },
        { type: 'ExternalIP' as const, address: '198.18.0.1' },
      ],
    },
  };
  expect(nodeContext(node)).toEqual({
    name: 'node-a',
    labels: { 'topology.kubernetes.io/zone': 'zone-a' },
    addresses: ['198.18.0.1', 'fd00:198:18::1', '198.19.0.1'],
  });
  expect(nodeContext({ metadata: node.metadata }).addresses).toEqual([]);
});
