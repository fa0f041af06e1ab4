// The per-packet path's view of the desired state (model/pod_frontends.ts):
// what the node's pods reach when no socket hook translated their packets.
import { DesiredFrontends } from '../../lib/model/desired_memo';
import { ModelConfig } from '../../lib/model/node';
import { ObjectFeed } from './object_changes';
import { ALL_NODE_ADDRESSES, desired, ep, node, service, slice } from './objects';

const POD_PATH: ModelConfig = { ...ALL_NODE_ADDRESSES, podPath: true };
const here = { nodeName: 'node-a' };
const there = { nodeName: 'node-b' };

/** A NodePort service whose internal traffic policy is Local, with an
 *  endpoint on this node and one on another. */
const svc = service('web', { type: 'NodePort', clusterIP: '198.19.0.10', internalTrafficPolicy: 'Local', externalTrafficPolicy: 'Local', ports: [{ port: 80, nodePort: 30080 }] });
const slices = [slice('web-v4', 'web', 'IPv4', [ep('198.18.1.1', undefined, here), ep('198.18.2.1', undefined, there)], [{ port: 8080 }])];
const addrs = (bs: { addr: string }[]) => bs.map((b) => b.addr);

describe("the per-packet path's view", () => {
  test('off: none', () => {
    expect(desired([svc], slices).podFrontends).toEqual([]);
  });

  test('each frontend the node may use, with the backends its own traffic gets: the internal set for the ClusterIP, the node set for the others', () => {
    const d = desired([svc], slices, node(), POD_PATH);
    expect(d.podFrontends.map((f) => [f.kind, f.addr, f.port, f.scope])).toEqual(d.frontends.map((f) => [f.kind, f.addr, f.port, 'pod']));
    const cluster = d.podFrontends.find((f) => f.kind === 'ClusterIP')!;
    const nodePort = d.podFrontends.find((f) => f.kind === 'NodePort')!;
    // internalTrafficPolicy Local: this node's endpoint only; the node's own traffic to a NodePort: every endpoint.
    expect(addrs(cluster.externalBackends)).toEqual(['198.18.1.1']);
    expect(addrs(nodePort.externalBackends).sort()).toEqual(['198.18.1.1', '198.18.2.1']);
    // No backend is located on another node: the path routes to the pod address itself.
    expect(d.podFrontends.every((f) => f.externalBackends.every((b) => !('nodeAddr' in b)))).toBe(true);
    // Own edge services, apart from the edge view's (the NodePort's there has only the local endpoint).
    expect(new Set(d.podFrontends.map((f) => f.edgeService))).toEqual(new Set(['default/web||IPv4|pod|cluster', 'default/web||IPv4|pod']));
    expect(addrs(d.edgeFrontends.find((f) => f.kind === 'NodePort')!.externalBackends)).toEqual(['198.18.1.1']);
    expect(d.podFrontends.every((f) => f.sourceRanges.length === 0 && f.dropWithoutBackends)).toBe(true);
  });

  test("a LoadBalancer IP whose source ranges shut the node out is not in the pods' view either", () => {
    const lb = service('lb', { type: 'LoadBalancer', clusterIP: '198.19.0.11', loadBalancerSourceRanges: ['198.19.99.0/24'], ports: [{ port: 80, nodePort: 30081 }] }, 'default', { loadBalancer: { ingress: [{ ip: '198.18.100.1' }] } });
    const d = desired([lb], [slice('lb-v4', 'lb', 'IPv4', [ep('198.18.1.1')], [{ port: 8080 }])], node(), POD_PATH);
    expect(d.edgeFrontends.map((f) => f.addr)).toContain('198.18.100.1');
    expect(d.podFrontends.map((f) => f.addr)).not.toContain('198.18.100.1');
  });

  test('the same objects while nothing changed: the edge plan then skips the service', () => {
    const memo = new DesiredFrontends();
    const feed = new ObjectFeed();
    const other = service('other', { clusterIP: '198.19.0.12', ports: [{ port: 80 }] });
    const on = node();
    const first = memo.compute(feed.changes([svc, other], slices), on, POD_PATH);
    const otherSlices = [...slices, slice('other-v4', 'other', 'IPv4', [ep('198.18.1.9')], [{ port: 80 }])];
    const second = memo.compute(feed.changes([svc, other], otherSlices), on, POD_PATH);
    const web = (d: typeof first) => d.podFrontends.filter((f) => f.serviceName === 'default/web');
    expect(web(second)).toHaveLength(2);
    web(second).forEach((f, i) => expect(f).toBe(web(first)[i]));
    expect(second.podFrontends.find((f) => f.serviceName === 'default/other')).not.toBe(first.podFrontends.find((f) => f.serviceName === 'default/other'));
  });
});
