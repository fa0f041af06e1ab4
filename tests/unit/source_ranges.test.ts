import { IpFamily } from '../../lib/model/ip_address';
import { nodeMayUse, sourceRanges } from '../../lib/model/source_ranges';
import { frontend, node } from './objects';

describe('source ranges of a family', () => {
  const ranges = ['198.18.64.0/18', 'fd00:198:18:64::/64', '198.18.0.0/18', '198.18.64.0/18'];
  test.each<[string[], IpFamily, string[]]>([
    [ranges, 'IPv4', ['198.18.0.0/18', '198.18.64.0/18']],
    [ranges, 'IPv6', ['fd00:198:18:64::/64']],
    // Ranges only of the other family leave this one open to all.
    [['198.18.0.0/18'], 'IPv6', []],
    [[], 'IPv4', []],
  ])('%j %s -> %j', (loadBalancerSourceRanges, family, want) => {
    expect(sourceRanges({ loadBalancerSourceRanges }, family)).toEqual(want);
  });
});

describe('whether the socket LB serves a LoadBalancer frontend to this node', () => {
  const lbFrontend = (addr: string, sourceRanges: string[]) => frontend({ kind: 'LoadBalancer', addr, sourceRanges });

  test.each<[string, string, string[], string[], boolean]>([
    ['no ranges: open to all', '198.18.200.1', [], ['198.18.0.1'], true],
    ['a range holds the node address', '198.18.200.1', ['198.18.64.0/18', '198.18.0.0/24'], ['198.18.0.1'], true],
    ['any of the node addresses will do', '198.18.200.1', ['198.18.64.0/18'], ['198.18.0.1', '198.18.64.9'], true],
    ['no range holds a node address', '198.18.200.1', ['198.18.64.0/18'], ['198.18.0.1', 'fd00:198:18::1'], false],
    ['an address of the other family does not count', 'fd00:198:18::200', ['fd00:198:18:64::/64'], ['198.18.0.1'], false],
    ['IPv6', 'fd00:198:18::200', ['fd00:198:18::/64'], ['198.18.0.1', 'fd00:198:18::1'], true],
  ])('%s', (_name, addr, ranges, addresses, want) => {
    expect(nodeMayUse(lbFrontend(addr, ranges), node(addresses))).toBe(want);
  });
});
