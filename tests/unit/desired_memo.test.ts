import { desiredFrontends } from '../../lib/model/desired';
import { FORWARDING_MODE_ANNOTATION } from '../../lib/model/forwarding_mode';
import { DesiredFrontends } from '../../lib/model/desired_memo';
import { EndpointSlice, Service } from '../../lib/model/objects';
import { ObjectFeed } from './object_changes';
import { ALL_NODE_ADDRESSES, ep, node, service, slice } from './objects';
import { Rng } from './rng';

const svc = (name: string, ip: string, extra: Partial<Service['spec']> = {}) =>
  service(name, { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...extra });
const eps = (svcName: string, addrs: string[], name = `${svcName}-1`, nodeName?: string) =>
  slice(name, svcName, 'IPv4', addrs.map((a) => ep(a, undefined, nodeName ? { nodeName } : {})), [{ name: 'http', port: 8080, protocol: 'TCP' }]);
const plain = (name: string, n: number) => svc(name, `198.19.0.${n}`);
const localNodePort = (name: string, n: number) =>
  svc(name, `198.19.0.${n}`, { type: 'NodePort', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30090 + n }] });
/** Odd ones carry a forwarding mode kpr does not know, which is warned of, and source ranges. */
const localLb = (name: string, n: number): Service => {
  const lb = service(
    name,
    { type: 'LoadBalancer', clusterIP: `198.19.0.${n}`, clusterIPs: [`198.19.0.${n}`], externalTrafficPolicy: 'Local', healthCheckNodePort: 32000 + n, ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 + n }] },
    'default',
    { loadBalancer: { ingress: [{ ip: `198.18.200.${n}` }] } },
  );
  if (n % 2 === 1) {
    lb.metadata.annotations = { [FORWARDING_MODE_ANNOTATION]: 'bogus' };
    // Ranges that leave this node out: the socket LB does not serve the load balancer IP.
    lb.spec.loadBalancerSourceRanges = ['198.18.64.0/18'];
  }
  return lb;
};

describe('desired state memo', () => {
  const on = node();
  // Each step is checked against the pure function on the same objects.
  let feed: ObjectFeed;
  beforeEach(() => (feed = new ObjectFeed()));

  function check(memo: DesiredFrontends, services: Service[], slices: EndpointSlice[]) {
    const got = memo.compute(feed.changes(services, slices), on, ALL_NODE_ADDRESSES);
    expect(got).toEqual(desiredFrontends(services, slices, on, ALL_NODE_ADDRESSES));
    return got;
  }

  test('reuses the frontends of unchanged services and recomputes changed ones', () => {
    const memo = new DesiredFrontends();
    const services = [svc('b', '198.19.0.2'), svc('a', '198.19.0.1')];
    const slices = [eps('a', ['198.18.1.1']), eps('b', ['198.18.2.1'])];
    const first = check(memo, services, slices);
    const again = check(memo, services, slices);
    expect(again).toBe(first);

    const changed = [slices[0], eps('b', ['198.18.2.1', '198.18.2.2'])];
    const second = check(memo, services, changed);
    expect(second.frontends[0]).toBe(first.frontends[0]);
    expect(second.frontends[1]).not.toBe(first.frontends[1]);
    // Only backends changed: every frontend kept its key and place.
    expect(second.layout).toBe(first.layout);
  });

  test('follows added and removed services, new keys and conflicts', () => {
    const memo = new DesiredFrontends();
    const slices = [eps('a', ['198.18.1.1']), eps('b', ['198.18.2.1'])];
    const one = check(memo, [svc('a', '198.19.0.1')], slices);
    const two = check(memo, [svc('a', '198.19.0.1'), svc('b', '198.19.0.2')], slices);
    expect(two.layout).not.toBe(one.layout);
    const moved = check(memo, [svc('a', '198.19.0.1'), svc('b', '198.19.0.4')], slices);
    expect(moved.layout).not.toBe(two.layout);
    // b moves onto a's address: a, first by name, keeps it.
    const clash = check(memo, [svc('a', '198.19.0.1'), svc('b', '198.19.0.1')], slices);
    expect(clash.conflicts).toHaveLength(1);
    const resolved = check(memo, [svc('a', '198.19.0.1'), svc('b', '198.19.0.3')], slices);
    expect(resolved.conflicts).toEqual([]);
    check(memo, [svc('b', '198.19.0.3')], slices);
    // Several at once, both ways.
    const many = [svc('a', '198.19.0.1'), svc('b', '198.19.0.3'), svc('c', '198.19.0.5'), svc('d', '198.19.0.6')];
    check(memo, many, slices);
    check(memo, [many[1]], slices);
  });

  test('follows slices that arrive before their service, move to another service and outlive theirs', () => {
    const memo = new DesiredFrontends();
    const a = svc('a', '198.19.0.1');
    const b = svc('b', '198.19.0.2');
    check(memo, [a], [eps('b', ['198.18.2.1'])]);
    check(memo, [a, b], [eps('b', ['198.18.2.1'])]);
    // The same slice, relabelled to a; then a second slice of a, named to sort first.
    check(memo, [a, b], [eps('a', ['198.18.2.1'], 'b-1')]);
    const two = [eps('a', ['198.18.2.1'], 'b-1'), eps('a', ['198.18.1.1'], 'a-0')];
    expect(check(memo, [a, b], two).frontends[0].backends.map((x) => x.addr)).toEqual(['198.18.1.1', '198.18.2.1']);
    check(memo, [b], two);
    check(memo, [a, b], two);
  });

  test.each([
    ['services often clash over an address', true],
    ['each service has its own address, so that most computes keep the last layout', false],
  ])('any sequence of changes gives what the objects give computed afresh (seeded, 300 computes): %s', (_, clash) => {
    const rng = new Rng(0x6d656d6f);
    const memo = new DesiredFrontends();
    const names = ['a', 'b', 'c', 'd', 'e'];
    let services = new Map<string, Service>();
    let slices = new Map<string, EndpointSlice>();
    const seen = { healthChecks: false, noLocal: false, warnings: false };
    let kept = 0;
    let layout: object | undefined;
    for (let step = 0; step < 300; step++) {
      // One to three changes between two computes.
      for (let n = 1 + rng.int(3); n > 0; n--) {
        const name = rng.pick(names);
        const sliceName = `${name}-${rng.int(2)}`;
        const what = rng.int(4);
        const address = clash ? 1 + rng.int(4) : 1 + names.indexOf(name);
        if (what === 0) services.delete(name);
        // Half have externalTrafficPolicy Local: LoadBalancers (health
        // checks, frontends with no local endpoint, warnings) and NodePorts
        // (no local endpoint without a health check).
        else if (what === 1) services.set(name, [localLb, localNodePort, plain, plain][rng.int(4)](name, address));
        else if (what === 2) slices.delete(sliceName);
        else slices.set(sliceName, eps(rng.pick(names), [`198.18.1.${1 + rng.int(3)}`, `198.18.2.${1 + rng.int(3)}`], sliceName, rng.pick(['node-a', 'node-b'])));
      }
      services = new Map([...services].sort());
      slices = new Map([...slices].sort());
      const got = check(memo, [...services.values()], [...slices.values()]);
      seen.healthChecks ||= got.healthChecks.length > 0;
      seen.noLocal ||= got.noLocalEndpoints.external > 0;
      seen.warnings ||= got.warnings.length > 0;
      if (got.layout === layout) kept++;
      layout = got.layout;
    }
    // The sequence did reach each per-service figure the state sums up, and
    // apart, the path that patches the last state more often than not.
    expect(seen).toEqual({ healthChecks: true, noLocal: true, warnings: true });
    if (!clash) expect(kept).toBeGreaterThan(100);
  });

  test('recomputes everything when the node changes', () => {
    const memo = new DesiredFrontends();
    const services = [svc('a', '198.19.0.1', { type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] })];
    const slices = [eps('a', ['198.18.1.1'])];
    memo.compute(feed.changes(services, slices), on, ALL_NODE_ADDRESSES);
    const other = node(['198.18.0.9']);
    expect(memo.compute(feed.changes(services, slices), other, ALL_NODE_ADDRESSES)).toEqual(desiredFrontends(services, slices, other, ALL_NODE_ADDRESSES));
  });
});
