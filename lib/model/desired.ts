// Desired state: every frontend the datapath should serve, from Services and
// EndpointSlices. Each service type contributes its own frontends; this is
// where further types (NodePort, LoadBalancer, ExternalIPs) join.
import { Frontend, frontendKey } from './frontend';
import { resolveConflicts } from './frontend_conflicts';
import { EndpointSlice, objectName, Service } from './objects';
import { sortedBy } from './order';
import { slicesByService } from './service_slices';
import { clusterIpFrontends } from './service_types/clusterip';

export interface DesiredState {
  /** Ordered by frontendKey, one per key. */
  frontends: Frontend[];
  conflicts: string[];
}

export function desiredFrontends(services: Service[], slices: EndpointSlice[]): DesiredState {
  const bySvc = slicesByService(slices);
  const ordered = sortedBy(services, (svc) => objectName(svc.metadata));
  const all = ordered.flatMap((svc) => clusterIpFrontends(svc, bySvc.get(objectName(svc.metadata)) ?? []));
  const { frontends, conflicts } = resolveConflicts(all);
  return { frontends: sortedBy(frontends, frontendKey), conflicts };
}
