// The backend set of one service port, from the service's slices of one
// family. Each endpoint contributes its first address only: the API declares
// an endpoint's addresses fungible and kube-proxy uses the first.
import { endpointConditions, usableEndpoints } from './endpoint_conditions';
import { dedupeEndpoints, EndpointCandidate } from './endpoint_duplicates';
import { endpointPort } from './endpoint_ports';
import { BackendAddr, compareBackends } from './frontend';
import { EndpointSlice, ServicePort } from './objects';

export function portBackends(sp: ServicePort, slices: EndpointSlice[]): BackendAddr[] {
  const candidates: EndpointCandidate[] = [];
  for (const slice of slices) {
    const port = endpointPort(sp, slice);
    if (port === undefined) continue;
    for (const ep of slice.endpoints) {
      candidates.push({ addr: ep.addresses[0], port, conditions: endpointConditions(ep) });
    }
  }
  return usableEndpoints(dedupeEndpoints(candidates))
    .map(({ addr, port }) => ({ addr, port }))
    .sort(compareBackends);
}
