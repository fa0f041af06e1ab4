import { desiredFrontends } from '../../lib/model/desired';
import { DesiredFrontends } from '../../lib/model/desired_memo';
import { EndpointSlice, Service } from '../../lib/model/objects';
import { ALL_NODE_ADDRESSES, ep, node, service, slice } from './objects';

const svc = (name: string, ip: string, extra: Partial<Service['spec']> = {}) =>
  service(name, { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip], ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...extra });
const eps = (svcName: string, addrs: string[], name = `${svcName}-1`) =>
  slice(name, svcName, 'IPv4', addrs.map((a) => ep(a)), [{ name: 'http', port: 8080, protocol: 'TCP' }]);

describe('desired state memo', () => {
  const on = node();
  // Each step is checked against the pure function on the same objects.
  function check(memo: DesiredFrontends, services: Service[], slices: EndpointSlice[]) {
    const got = memo.compute(services, slices, on, ALL_NODE_ADDRESSES);
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
  });

  test('follows added and removed services, new keys and conflicts', () => {
    const memo = new DesiredFrontends();
    const slices = [eps('a', ['198.18.1.1']), eps('b', ['198.18.2.1'])];
    check(memo, [svc('a', '198.19.0.1')], slices);
    check(memo, [svc('a', '198.19.0.1'), svc('b', '198.19.0.2')], slices);
    // b moves onto a's address: a, first by name, keeps it.
    const clash = check(memo, [svc('a', '198.19.0.1'), svc('b', '198.19.0.1')], slices);
    expect(clash.conflicts).toHaveLength(1);
    const resolved = check(memo, [svc('a', '198.19.0.1'), svc('b', '198.19.0.3')], slices);
    expect(resolved.conflicts).toEqual([]);
    check(memo, [svc('b', '198.19.0.3')], slices);
  });

  test('recomputes everything when the node changes', () => {
    const memo = new DesiredFrontends();
    const services = [svc('a', '198.19.0.1', { type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort: 30080 }] })];
    const slices = [eps('a', ['198.18.1.1'])];
    memo.compute(services, slices, on, ALL_NODE_ADDRESSES);
    const other = node(['198.18.0.9']);
    expect(memo.compute(services, slices, other, ALL_NODE_ADDRESSES)).toEqual(desiredFrontends(services, slices, other, ALL_NODE_ADDRESSES));
  });
});
