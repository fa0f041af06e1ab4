// Topology-aware routing, kube-proxy's rule. A service asks for it with
// trafficDistribution (PreferClose, its new name PreferSameZone, or
// PreferSameNode) or the service.kubernetes.io/topology-mode annotation
// (Auto); the EndpointSlice controller answers by writing hints: zone hints,
// and for PreferSameNode node hints as well, with zone hints kept as the
// fallback for proxies that do not read node hints. kube-proxy reads only the
// hints, never the service's request (current releases), and so does this
// file: the request is the controller's business, and hand-written slices
// in standalone mode then mean what they say.
//
// All or nothing: node hints are used when every ready endpoint has one and
// at least one names this node; otherwise zone hints, on the same terms with
// this node's zone label; otherwise every endpoint, as if there were no
// hints, so that stale or half-written hints never strand a node.
import { EndpointCandidate } from './endpoint_duplicates';
import { NodeContext } from './node';

export const ZONE_LABEL = 'topology.kubernetes.io/zone';

export type TopologyMode = 'PreferSameNode' | 'PreferSameZone';

type Hinted = Pick<EndpointCandidate, 'conditions' | 'hints'>;

function hintedFor(names: { name: string }[] | undefined, name: string | undefined): boolean {
  return name !== undefined && (names ?? []).some((n) => n.name === name);
}

function usesHints(ready: Hinted[], hints: (e: Hinted) => { name: string }[] | undefined, name: string | undefined): boolean {
  return ready.every((e) => (hints(e) ?? []).length > 0) && ready.some((e) => hintedFor(hints(e), name));
}

const nodeHints = (e: Hinted) => e.hints?.forNodes;
const zoneHints = (e: Hinted) => e.hints?.forZones;

/** Which hints apply to this node, if any. Only ready endpoints count:
 *  when none is ready the fallback to terminating ones ignores topology. */
export function topologyMode(eps: Hinted[], node: NodeContext): TopologyMode | undefined {
  const ready = eps.filter((e) => e.conditions.ready);
  if (ready.length === 0) return undefined;
  if (usesHints(ready, nodeHints, node.name)) return 'PreferSameNode';
  if (usesHints(ready, zoneHints, node.labels[ZONE_LABEL])) return 'PreferSameZone';
  return undefined;
}

/** The endpoints topology leaves this node. When a mode applies, they
 *  include at least one ready endpoint, so the ready-else-terminating choice
 *  that follows never falls back because of topology. */
export function topologyEndpoints<T extends Hinted>(eps: T[], node: NodeContext): T[] {
  switch (topologyMode(eps, node)) {
    case 'PreferSameNode':
      return eps.filter((e) => hintedFor(nodeHints(e), node.name));
    case 'PreferSameZone':
      return eps.filter((e) => hintedFor(zoneHints(e), node.labels[ZONE_LABEL]));
    default:
      return eps;
  }
}
