import { IpFamily } from '../../lib/model/ip_address';
import { healthCheckHosts, nodePortAddresses, nodePortAddressWarnings, parseNodePortAddresses } from '../../lib/model/nodeport_addresses';
import { node } from './objects';

// The Node object names its InternalIPs; the interfaces hold them and more:
// loopback, a second address on the segment, the pod bridge's gateway, and
// an IPv6 link-local address.
const NODE = ['198.18.0.2', 'fd00:198:18::2'];
const IFACES = ['127.0.0.1', '198.18.0.2', '198.18.0.77', '198.18.10.1', '::1', 'fd00:198:18::2', 'fd00:198:18::77', 'fe80::1'];
const ALL_V4 = ['198.18.0.2', '198.18.0.77', '198.18.10.1'];
const ALL_V6 = ['fd00:198:18::2', 'fd00:198:18::77'];

describe('which addresses serve NodePorts', () => {
  test.each<[string, string[], IpFamily, string[]]>([
    ['default: every interface address of the family, the Node\'s first; not loopback', [], 'IPv4', ALL_V4],
    ['default, IPv6: not loopback, not link-local', [], 'IPv6', ALL_V6],
    ['"all" is the default spelled out', ['all'], 'IPv4', ALL_V4],
    ['zero CIDRs too', ['0.0.0.0/0', '::/0'], 'IPv6', ALL_V6],
    ['a CIDR selects an interface address the Node does not list', ['198.18.0.64/26'], 'IPv4', ['198.18.0.77']],
    ['a family with no CIDR of its own is served on all its addresses', ['198.18.0.64/26'], 'IPv6', ALL_V6],
    ['CIDRs of both families', ['198.18.0.0/26', 'fd00:198:18::/125'], 'IPv6', ['fd00:198:18::2']],
    ['several CIDRs of one family', ['198.18.0.0/26', '198.18.10.0/24'], 'IPv4', ['198.18.0.2', '198.18.10.1']],
    ['CIDRs that hold none of its addresses: none', ['198.18.128.0/17'], 'IPv4', []],
    ['primary: the Node\'s first address of the family', ['primary'], 'IPv4', ['198.18.0.2']],
    ['primary, IPv6', ['primary'], 'IPv6', ['fd00:198:18::2']],
    ['primary with a CIDR beside it', ['primary', '198.18.10.0/24'], 'IPv4', ['198.18.0.2', '198.18.10.1']],
    ['localhost: loopback, which is never served', ['localhost'], 'IPv4', []],
    ['localhost, IPv6', ['localhost'], 'IPv6', []],
    ['a loopback CIDR beside another: only the other serves', ['127.0.0.0/8', '198.18.10.0/24'], 'IPv4', ['198.18.10.1']],
    ['link-local addresses are never served, even when named', ['fe80::/10'], 'IPv6', []],
  ])('%s: %j, %s -> %j', (_name, entries, family, want) => {
    expect(nodePortAddresses(node(NODE, 'node-a', 'zone-a', IFACES), { nodePortAddresses: entries }, family)).toEqual(want);
  });

  test.each<[string, string[], string[], string[], IpFamily, string[]]>([
    ["a Node address on no interface of the agent's namespace still serves", ['198.19.0.1'], ['198.18.0.2'], [], 'IPv4', ['198.19.0.1', '198.18.0.2']],
    ['an address both list, once', ['198.18.0.2'], ['198.18.0.2'], [], 'IPv4', ['198.18.0.2']],
    // kube-proxy: a family without a primary address has no CIDR of its own.
    ['primary of an IPv4-only Node: all IPv6 addresses', ['198.18.0.2'], IFACES, ['primary'], 'IPv6', ALL_V6],
    ['primary of a Node without addresses: all', [], IFACES, ['primary'], 'IPv4', ALL_V4],
    // kube-proxy falls back to 127.0.0.1 as the node IP and then skips it.
    ['a loopback primary is no primary', ['127.0.0.1'], IFACES, ['primary'], 'IPv4', ALL_V4],
    ['no interface read yet: the Node\'s addresses', NODE, [], [], 'IPv6', ['fd00:198:18::2']],
  ])('%s', (_name, nodeAddrs, ifaces, entries, family, want) => {
    expect(nodePortAddresses(node(nodeAddrs, 'node-a', 'zone-a', ifaces), { nodePortAddresses: entries }, family)).toEqual(want);
  });

  test('primary follows the Node: a new address is the new primary', () => {
    const config = { nodePortAddresses: ['primary'] };
    expect(nodePortAddresses(node(['198.18.0.2'], 'node-a', 'zone-a', IFACES), config, 'IPv4')).toEqual(['198.18.0.2']);
    expect(nodePortAddresses(node(['198.18.0.77'], 'node-a', 'zone-a', IFACES), config, 'IPv4')).toEqual(['198.18.0.77']);
  });

  test('the same node asked with another config gets the answer of that config', () => {
    const on = node(NODE, 'node-a', 'zone-a', IFACES);
    expect(nodePortAddresses(on, { nodePortAddresses: ['198.18.10.0/24'] }, 'IPv4')).toEqual(['198.18.10.1']);
    expect(nodePortAddresses(on, { nodePortAddresses: ['primary'] }, 'IPv4')).toEqual(['198.18.0.2']);
  });
});

describe('where healthCheckNodePort servers listen', () => {
  test.each<[string[], string[] | 'all']>([
    [[], 'all'],
    [['all'], 'all'],
    [['198.18.0.64/26'], ['198.18.0.77', ...ALL_V6]],
    [['primary'], ['198.18.0.2', 'fd00:198:18::2']],
    // Narrowed to nothing: no address, not all of them.
    [['198.18.128.0/17', 'fd00:198:18:1::/64'], []],
  ])('%j -> %j', (entries, want) => {
    expect(healthCheckHosts(node(NODE, 'node-a', 'zone-a', IFACES), { nodePortAddresses: entries })).toEqual(want);
  });
});

describe('nodePortAddresses entries, as kube-proxy validates them', () => {
  test('CIDRs become canonical, keywords stay', () => {
    expect(parseNodePortAddresses(['198.18.7.1/16', 'FD00:198:18::/48', 'primary', 'localhost', 'all', '198.18.0.0/16'])).toEqual({
      entries: ['198.18.0.0/16', 'fd00:198:18::/48', 'primary', 'localhost', 'all', '198.18.0.0/16'],
    });
    expect(parseNodePortAddresses([])).toEqual({ entries: [] });
  });

  test.each<[string[], number, string]>([
    [['198.18.0.1'], 0, '"198.18.0.1" is not a CIDR nor one of the keywords primary, localhost, all'],
    [['198.18.0.0/16', 'Primary'], 1, '"Primary" is not a CIDR nor one of the keywords primary, localhost, all'],
    [['198.18.0.0/16', ''], 1, '"" is not a CIDR nor one of the keywords primary, localhost, all'],
    [['primary', '198.18.0.0/16', 'primary'], 2, '"primary" is given twice'],
  ])('%j: entry %d, %s', (texts, index, problem) => {
    expect(parseNodePortAddresses(texts)).toEqual({ index, problem });
  });

  test('entries that select only loopback are warned about while localhost NodePorts are off', () => {
    const entries = ['localhost', '127.0.0.1/32', '::1/128', '127.0.0.0/7', '0.0.0.0/0', 'primary', 'all'];
    expect(nodePortAddressWarnings(entries, false)).toEqual([
      'nodePortAddresses: localhost selects loopback addresses only, and localhost NodePorts are off (--iptables-localhost-nodeports): it selects nothing',
      'nodePortAddresses: 127.0.0.1/32 selects loopback addresses only, and localhost NodePorts are off (--iptables-localhost-nodeports): it selects nothing',
      'nodePortAddresses: ::1/128 selects loopback addresses only, and localhost NodePorts are off (--iptables-localhost-nodeports): it selects nothing',
    ]);
    expect(nodePortAddressWarnings(entries, true)).toEqual([]);
  });
});
