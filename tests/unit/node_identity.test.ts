import { nodeName } from '../../lib/sources/node_name';
import { reachableAddresses, standaloneNode } from '../../lib/sources/standalone_node';
import { parseBindAddress } from '../../lib/bind_address';

describe('node name', () => {
  test.each([
    ['override first', ' Node-A ', { NODE_NAME: 'b' }, 'node-a'],
    ['then NODE_NAME', undefined, { NODE_NAME: 'Node-B' }, 'node-b'],
    ['then the host name', undefined, {}, 'host-c'],
    ['an empty override counts as none', '', {}, 'host-c'],
  ])('%s', (_, override, env, want) => {
    expect(nodeName(override, env, () => 'Host-C')).toBe(want);
  });

  test('empty everywhere is an error', () => {
    expect(() => nodeName(undefined, {}, () => ' ')).toThrow('the node name is empty');
  });
});

describe('standalone node context', () => {
  const ifaces = {
    lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '', internal: true, cidr: null }],
    eth0: [
      { address: '198.18.0.5', netmask: '255.255.255.0', family: 'IPv4', mac: '', internal: false, cidr: null },
      { address: 'FD00:198:18::5', netmask: 'ffff::', family: 'IPv6', mac: '', internal: false, cidr: null, scopeid: 0 },
      { address: 'fe80::1', netmask: 'ffff::', family: 'IPv6', mac: '', internal: false, cidr: null, scopeid: 2 },
    ],
  } as NodeJS.Dict<import('os').NetworkInterfaceInfo[]>;

  test('local interface addresses: not loopback, not link-local, canonical', () => {
    expect(reachableAddresses(ifaces)).toEqual(['198.18.0.5', 'fd00:198:18::5']);
  });

  test('the Node of this name in the manifests wins over the interfaces', () => {
    const node = { metadata: { name: 'node-a', namespace: '', labels: { zone: 'z' }, annotations: {} }, status: { addresses: [{ type: 'InternalIP' as const, address: '198.18.0.9' }] } };
    expect(standaloneNode('node-a', [node], ifaces)).toEqual({ name: 'node-a', labels: { zone: 'z' }, addresses: ['198.18.0.9'] });
    expect(standaloneNode('node-b', [node], ifaces)).toEqual({ name: 'node-b', labels: {}, addresses: ['198.18.0.5', 'fd00:198:18::5'] });
  });
});

describe('bind addresses', () => {
  test.each([
    ['127.0.0.1:10249', { host: '127.0.0.1', port: 10249 }],
    ['[::1]:9000', { host: '::1', port: 9000 }],
    ['0.0.0.0', { host: '0.0.0.0', port: 7 }],
    ['::', { host: '::', port: 7 }],
    ['127.0.0.1:0', undefined],
  ])('%s', (text, want) => {
    expect(parseBindAddress(text, 7)).toEqual(want);
  });

  test.each(['localhost:80', '1.2.3.4:70000', ':80', '[::1]'])('%s is refused', (text) => {
    expect(() => parseBindAddress(text, 7)).toThrow(`${JSON.stringify(text)} is not an IP:port address`);
  });
});
