// The same address and port can appear in several slices of one service, for
// instance while the EndpointSlice controller moves an endpoint between
// slices. It is one backend; when the copies disagree, the copy that is not
// terminating (then the ready one) describes it, its node and hints too.
import { Conditions } from './endpoint_conditions';
import { BackendAddr, backendKey } from './frontend';
import { Endpoint } from './objects';

export interface EndpointCandidate extends BackendAddr, Pick<Endpoint, 'nodeName' | 'hints'> {
  conditions: Conditions;
}

function rank(c: Conditions): number {
  return (c.terminating ? 0 : 2) + (c.ready ? 1 : 0);
}

export function dedupeEndpoints(candidates: EndpointCandidate[]): EndpointCandidate[] {
  const byKey = new Map<string, EndpointCandidate>();
  for (const c of candidates) {
    const key = backendKey(c);
    const seen = byKey.get(key);
    if (!seen || rank(c.conditions) > rank(seen.conditions)) byKey.set(key, c);
  }
  return [...byKey.values()];
}
