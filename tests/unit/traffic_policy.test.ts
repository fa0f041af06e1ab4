import { EndpointCandidate } from '../../lib/model/endpoint_duplicates';
import { ServiceSpec } from '../../lib/model/objects';
import { healthCheckNodePort, noLocalEndpoints, trafficBackends } from '../../lib/model/traffic_policy';
import { node } from './objects';

const candidate = (addr: string, nodeName: string | undefined, ready: boolean, zone?: string): EndpointCandidate => ({
  addr,
  port: 8080,
  conditions: { ready, serving: true, terminating: !ready },
  nodeName,
  hints: zone ? { forZones: [{ name: zone }] } : undefined,
});

// This node is node-a in zone-a.
const localReady = candidate('198.18.1.1', 'node-a', true);
const localTerminating = candidate('198.18.1.2', 'node-a', false);
const remoteReady = candidate('198.18.2.1', 'node-b', true);
const remoteTerminating = candidate('198.18.2.2', 'node-b', false);
const unplaced = candidate('198.18.3.1', undefined, true);

const LOCAL = 'Local' as const;
const addrs = (bs: { addr: string }[]) => bs.map((b) => b.addr);

describe('backend sets by traffic policy', () => {
  test.each<[string, ServiceSpec, EndpointCandidate[], string[], string[], string[]]>([
    // name, spec, endpoints, internal (ClusterIP), fromNode (external kinds, this node), external (external kinds, outside)
    ['Cluster policies: every endpoint everywhere', {}, [localReady, remoteReady], ['198.18.1.1', '198.18.2.1'], ['198.18.1.1', '198.18.2.1'], ['198.18.1.1', '198.18.2.1']],
    ['internal Local: ClusterIP takes the local ones only', { internalTrafficPolicy: LOCAL }, [localReady, remoteReady], ['198.18.1.1'], ['198.18.1.1', '198.18.2.1'], ['198.18.1.1', '198.18.2.1']],
    ['internal Local without a local endpoint: ClusterIP has none', { internalTrafficPolicy: LOCAL }, [remoteReady], [], ['198.18.2.1'], ['198.18.2.1']],
    ['external Local: outside traffic takes the local ones only', { externalTrafficPolicy: LOCAL }, [localReady, remoteReady], ['198.18.1.1', '198.18.2.1'], ['198.18.1.1', '198.18.2.1'], ['198.18.1.1']],
    ['external Local without a local endpoint: none from outside, all from this node', { externalTrafficPolicy: LOCAL }, [remoteReady], ['198.18.2.1'], ['198.18.2.1'], []],
    ['each set falls back to terminating endpoints on its own', { externalTrafficPolicy: LOCAL }, [localTerminating, remoteReady], ['198.18.2.1'], ['198.18.2.1'], ['198.18.1.2']],
    ['no ready endpoint anywhere', { internalTrafficPolicy: LOCAL, externalTrafficPolicy: LOCAL }, [localTerminating, remoteTerminating], ['198.18.1.2'], ['198.18.1.2', '198.18.2.2'], ['198.18.1.2']],
    ['a local ready endpoint beats a local terminating one', { internalTrafficPolicy: LOCAL }, [localReady, localTerminating], ['198.18.1.1'], ['198.18.1.1'], ['198.18.1.1']],
    ['an endpoint without a node is never local', { externalTrafficPolicy: LOCAL }, [unplaced], ['198.18.3.1'], ['198.18.3.1'], []],
    ['no endpoints', { internalTrafficPolicy: LOCAL, externalTrafficPolicy: LOCAL }, [], [], [], []],
  ])('%s', (_name, spec, eps, internal, fromNode, external) => {
    const sets = trafficBackends(spec, eps, node());
    expect([addrs(sets.internal), addrs(sets.fromNode), addrs(sets.external)]).toEqual([internal, fromNode, external]);
  });

  test('topology narrows the cluster-wide set, never a local one', () => {
    const local = candidate('198.18.1.1', 'node-a', true, 'zone-b');
    const remote = candidate('198.18.2.1', 'node-b', true, 'zone-a');
    const sets = trafficBackends({ internalTrafficPolicy: LOCAL, externalTrafficPolicy: LOCAL }, [local, remote], node());
    expect([addrs(sets.internal), addrs(sets.fromNode), addrs(sets.external)]).toEqual([['198.18.1.1'], ['198.18.2.1'], ['198.18.1.1']]);
  });

  test.each<[string, ServiceSpec, string[], string[], string[], string[]]>([
    // name, spec, internal, internalPlaced, fromNode, external: this node is in zone-a, where only the remote endpoint is hinted
    ['Cluster policies: every set', {}, ['198.18.2.1'], ['198.18.2.1'], ['198.18.2.1'], ['198.18.2.1']],
    ['internal Local: the ClusterIP set is the local one, the external sets narrowed', { internalTrafficPolicy: LOCAL }, ['198.18.1.1'], ['198.18.1.1'], ['198.18.2.1'], ['198.18.2.1']],
    ['external Local: the ClusterIP sets narrowed, the outside set is the local one', { externalTrafficPolicy: LOCAL }, ['198.18.2.1'], ['198.18.2.1'], ['198.18.2.1'], ['198.18.1.1']],
  ])('zone hints narrow every cluster-wide set: %s', (_name, spec, internal, internalPlaced, fromNode, external) => {
    const eps = [candidate('198.18.1.1', 'node-a', true, 'zone-b'), candidate('198.18.2.1', 'node-b', true, 'zone-a')];
    const sets = trafficBackends(spec, eps, node(), true);
    expect([addrs(sets.internal), addrs(sets.internalPlaced ?? []), addrs(sets.fromNode), addrs(sets.external)]).toEqual([internal, internalPlaced, fromNode, external]);
  });

  test('the terminating fallback ignores topology', () => {
    const eps = [candidate('198.18.1.2', 'node-a', false, 'zone-b'), candidate('198.18.2.2', 'node-b', false, 'zone-b')];
    expect(addrs(trafficBackends({}, eps, node()).internal)).toEqual(['198.18.1.2', '198.18.2.2']);
  });

  test('sets are sorted addresses and ports only', () => {
    const sets = trafficBackends({}, [remoteReady, localReady], node());
    expect(sets.internal).toEqual([
      { addr: '198.18.1.1', port: 8080 },
      { addr: '198.18.2.1', port: 8080 },
    ]);
  });
});

describe('health check node port', () => {
  test.each<[ServiceSpec, number | undefined]>([
    [{ type: 'LoadBalancer', externalTrafficPolicy: LOCAL, healthCheckNodePort: 32000 }, 32000],
    [{ type: 'LoadBalancer', externalTrafficPolicy: 'Cluster', healthCheckNodePort: 32000 }, undefined],
    [{ type: 'LoadBalancer', healthCheckNodePort: 32000 }, undefined],
    [{ type: 'NodePort', externalTrafficPolicy: LOCAL, healthCheckNodePort: 32000 }, undefined],
    [{ type: 'LoadBalancer', externalTrafficPolicy: LOCAL }, undefined],
  ])('%j -> %s', (spec, want) => {
    expect(healthCheckNodePort(spec)).toBe(want);
  });
});

describe("kube-proxy's no_local_endpoints count", () => {
  test.each<[string, ServiceSpec, EndpointCandidate[], boolean, { internal: boolean; external: boolean }]>([
    // name, spec, endpoints, has external frontends, counted per scope
    ['Cluster policies are never counted', {}, [remoteReady], true, { internal: false, external: false }],
    ['internal Local with endpoints elsewhere only', { internalTrafficPolicy: LOCAL }, [remoteReady], false, { internal: true, external: false }],
    ['internal Local with a local endpoint', { internalTrafficPolicy: LOCAL }, [localReady, remoteReady], false, { internal: false, external: false }],
    ['external Local with endpoints elsewhere only', { externalTrafficPolicy: LOCAL }, [remoteReady], true, { internal: false, external: true }],
    ['external Local without external frontends', { externalTrafficPolicy: LOCAL }, [remoteReady], false, { internal: false, external: false }],
    ['a local terminating endpoint still counts as local', { externalTrafficPolicy: LOCAL, internalTrafficPolicy: LOCAL }, [localTerminating, remoteReady], true, { internal: false, external: false }],
    ['no endpoints at all is not a missing local one', { internalTrafficPolicy: LOCAL, externalTrafficPolicy: LOCAL }, [], true, { internal: false, external: false }],
  ])('%s', (_name, spec, eps, hasExternal, counted) => {
    expect(noLocalEndpoints(spec, trafficBackends(spec, eps, node()), hasExternal)).toEqual(counted);
  });
});
