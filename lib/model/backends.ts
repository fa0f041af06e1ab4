// The endpoints of one service port, from the service's slices of one
// family. Each endpoint contributes the one address decoding kept, its first:
// the API declares an endpoint's addresses fungible and kube-proxy uses the
// first.
import { PlacedBackend } from './backend_location';
import { dedupeEndpoints, EndpointCandidate } from './endpoint_duplicates';
import { endpointConditions } from './endpoint_conditions';
import { endpointPort } from './endpoint_ports';
import { BackendAddr, compareBackends } from './frontend';
import { EndpointSlice, ServicePort } from './objects';

/** Every endpoint of the port once, whatever its conditions. */
export function portEndpoints(sp: ServicePort, slices: EndpointSlice[]): EndpointCandidate[] {
  const candidates: EndpointCandidate[] = [];
  for (const slice of slices) {
    const port = endpointPort(sp, slice);
    if (port === undefined) continue;
    for (const ep of slice.endpoints) {
      candidates.push({ addr: ep.address, port, conditions: endpointConditions(ep), nodeName: ep.nodeName, hints: ep.hints });
    }
  }
  return dedupeEndpoints(candidates);
}

/** A backend set as frontends hold it: addresses only, sorted. */
export function backendSet(eps: BackendAddr[]): BackendAddr[] {
  return eps.map(({ addr, port }) => ({ addr, port })).sort(compareBackends);
}

/** The same with each backend's node: the edge LB's view (backend_location.ts). */
export function placedBackendSet(eps: EndpointCandidate[]): PlacedBackend[] {
  return eps.map(({ addr, port, nodeName }) => ({ addr, port, nodeName })).sort(compareBackends);
}
