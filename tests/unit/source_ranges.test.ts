import { IpFamily } from '../../lib/model/ip_address';
import { frontendSourceRanges, nodeMayUse, sourceRanges } from '../../lib/model/source_ranges';
import { ALL_NODE_ADDRESSES, desired, frontend, node, service } from './objects';

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

describe('which frontends of a LoadBalancer service the ranges guard (--bpf-lb-source-range-all-types)', () => {
  const svc = service(
    'fenced',
    {
      type: 'LoadBalancer',
      clusterIP: '198.19.0.10',
      clusterIPs: ['198.19.0.10'],
      ports: [{ name: 'p', port: 80, nodePort: 30080 }],
      externalIPs: ['198.18.200.2'],
      loadBalancerSourceRanges: ['198.18.64.0/18'],
    },
    'default',
    { loadBalancer: { ingress: [{ ip: '198.18.200.1' }] } },
  );
  const rangesByKind = (allTypes: boolean) => {
    const { edgeFrontends, frontends } = desired([svc], [], node(['198.18.0.1']), { ...ALL_NODE_ADDRESSES, lbSourceRangeAllTypes: allTypes });
    const clusterIP = frontends.filter((f) => f.kind === 'ClusterIP').map((f) => f.sourceRanges);
    return { ...Object.fromEntries(edgeFrontends.map((f) => [f.kind, f.sourceRanges])), ClusterIP: clusterIP };
  };

  test("by default, as kube-proxy: the LoadBalancer IP only; its NodePort and external IP are open to all", () => {
    expect(rangesByKind(false)).toEqual({ LoadBalancer: ['198.18.64.0/18'], NodePort: [], ExternalIP: [], ClusterIP: [[]] });
  });

  test('with the option: the NodePort and the external IP too, never the cluster IP', () => {
    expect(rangesByKind(true)).toEqual({ LoadBalancer: ['198.18.64.0/18'], NodePort: ['198.18.64.0/18'], ExternalIP: ['198.18.64.0/18'], ClusterIP: [[]] });
  });

  test('with the option, the socket LB leaves a guarded NodePort to the node only when a range holds a node address', () => {
    const nodePorts = (addresses: string[]) =>
      desired([svc], [], node(addresses), { ...ALL_NODE_ADDRESSES, lbSourceRangeAllTypes: true }).frontends.filter((f) => f.kind === 'NodePort').map((f) => f.addr);
    expect(nodePorts(['198.18.0.1'])).toEqual([]);
    expect(nodePorts(['198.18.64.1'])).toEqual(['198.18.64.1']);
  });

  test('frontendSourceRanges: per kind and type', () => {
    const spec = svc.spec;
    expect(frontendSourceRanges(spec, 'NodePort', 'IPv4', true)).toEqual(['198.18.64.0/18']);
    expect(frontendSourceRanges(spec, 'NodePort', 'IPv6', true)).toEqual([]);
    expect(frontendSourceRanges({ ...spec, type: 'NodePort' }, 'NodePort', 'IPv4', true)).toEqual([]);
    expect(frontendSourceRanges(spec, 'ClusterIP', 'IPv4', true)).toEqual([]);
  });
});
