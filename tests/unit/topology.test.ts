import { EndpointHints } from '../../lib/model/objects';
import { topologyEndpoints, topologyMode } from '../../lib/model/topology';
import { node } from './objects';

interface E {
  name: string;
  conditions: { ready: boolean; serving: boolean; terminating: boolean };
  hints?: EndpointHints;
}

const zones = (...names: string[]) => names.map((name) => ({ name }));
/** A ready endpoint hinted for zones (z) and nodes (n). */
const e = (name: string, z?: string[], n?: string[], ready = true): E => ({
  name,
  conditions: { ready, serving: true, terminating: !ready },
  hints: z || n ? { forZones: z && zones(...z), forNodes: n && zones(...n) } : undefined,
});

// This node: node-a in zone-a.
describe('which hints apply', () => {
  test.each<[string, E[], string | undefined, string[]]>([
    ['no hints', [e('a'), e('b')], undefined, ['a', 'b']],
    ['zone hints, some for this zone', [e('a', ['zone-a']), e('b', ['zone-b']), e('c', ['zone-a', 'zone-b'])], 'PreferSameZone', ['a', 'c']],
    ['zone hints, none for this zone', [e('a', ['zone-b']), e('b', ['zone-c'])], undefined, ['a', 'b']],
    ['a ready endpoint without a zone hint', [e('a', ['zone-a']), e('b')], undefined, ['a', 'b']],
    ['an empty hint list counts as none', [e('a', ['zone-a']), e('b', [])], undefined, ['a', 'b']],
    ['unhinted endpoints that are not ready do not count', [e('a', ['zone-a']), e('b', undefined, undefined, false)], 'PreferSameZone', ['a']],
    ['hinted endpoints that are not ready stay with their hint', [e('a', ['zone-a']), e('b', ['zone-a'], undefined, false), e('c', ['zone-b'])], 'PreferSameZone', ['a', 'b']],
    ['only terminating endpoints: no topology', [e('a', ['zone-b'], undefined, false), e('b', ['zone-b'], undefined, false)], undefined, ['a', 'b']],
    ['node hints, some for this node', [e('a', ['zone-a'], ['node-a']), e('b', ['zone-a'], ['node-b'])], 'PreferSameNode', ['a']],
    ['node hints take precedence over zone hints', [e('a', ['zone-b'], ['node-a']), e('b', ['zone-a'], ['node-b'])], 'PreferSameNode', ['a']],
    ['node hints for other nodes only: zone hints', [e('a', ['zone-a'], ['node-b']), e('b', ['zone-b'], ['node-c'])], 'PreferSameZone', ['a']],
    ['node hints on some endpoints only: zone hints', [e('a', ['zone-a'], ['node-a']), e('b', ['zone-a'])], 'PreferSameZone', ['a', 'b']],
    ['node hints without zone hints, none for this node', [e('a', undefined, ['node-b']), e('b', undefined, ['node-c'])], undefined, ['a', 'b']],
    ['no endpoints', [], undefined, []],
  ])('%s', (_name, eps, mode, kept) => {
    expect(topologyMode(eps, node())).toBe(mode);
    expect(topologyEndpoints(eps, node()).map((x) => x.name)).toEqual(kept);
  });

  test('a node without a zone label never uses zone hints', () => {
    const eps = [e('a', ['zone-a']), e('b', ['zone-b'])];
    expect(topologyMode(eps, node(undefined, 'node-a', null))).toBeUndefined();
    expect(topologyEndpoints(eps, node(undefined, 'node-a', null)).map((x) => x.name)).toEqual(['a', 'b']);
  });

  test('the same hints serve each node its own endpoints', () => {
    const eps = [e('a', ['zone-a']), e('b', ['zone-b'])];
    expect(topologyEndpoints(eps, node(undefined, 'node-x', 'zone-b')).map((x) => x.name)).toEqual(['b']);
  });
});
