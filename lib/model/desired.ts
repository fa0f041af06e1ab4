// Desired state: every frontend the datapath should serve, from Services,
// EndpointSlices, this node and the config, in two views: the socket LB's
// (traffic from this node) and the edge LB's (traffic from outside).
import { Frontend, frontendKey } from './frontend';
import { resolveConflicts } from './frontend_conflicts';
import { ModelConfig, NodeContext } from './node';
import { EndpointSlice, objectName, Service } from './objects';
import { sortedBy } from './order';
import { familyPorts } from './service_port';
import { slicesByService } from './service_slices';
import { clusterIpFrontends, clusterIPs } from './service_types/clusterip';
import { externalIpFrontends } from './service_types/external_ips';
import { loadBalancerFrontends } from './service_types/loadbalancer';
import { nodePortFrontends } from './service_types/nodeport';
import { nodeMayUse } from './source_ranges';
import { noLocalEndpoints } from './traffic_policy';

export interface DesiredState {
  /** The socket LB's frontends: all that traffic from this node may use.
   *  Ordered by frontendKey, one per key. */
  frontends: Frontend[];
  /** The edge LB's frontends: every NodePort, LoadBalancer and ExternalIP
   *  frontend, for traffic from outside. Ordered by frontendKey. */
  edgeFrontends: Frontend[];
  conflicts: string[];
  /** Service ports per family whose Local traffic policy finds no endpoint
   *  on this node while the service has endpoints elsewhere. */
  noLocalEndpoints: { internal: number; external: number };
}

// The order kube-proxy matches a packet's destination in: when a service
// names one address twice (an external IP that is also its load balancer
// IP), the earlier kind serves it (frontend_conflicts.ts).
const KINDS = [clusterIpFrontends, externalIpFrontends, loadBalancerFrontends, nodePortFrontends];

/** One service's frontends, before conflicts with other services are resolved. */
export interface ServiceFrontends {
  /** In the order they take precedence (KINDS). */
  frontends: Frontend[];
  noLocalEndpoints: DesiredState['noLocalEndpoints'];
}

export function serviceFrontends(svc: Service, slices: EndpointSlice[], node: NodeContext, config: ModelConfig): ServiceFrontends {
  const ports = clusterIPs(svc.spec).flatMap((ip) => familyPorts(svc, ip, slices, node));
  const frontends = KINDS.flatMap((kind) => ports.flatMap((p) => kind(p, node, config)));
  const hasExternal = frontends.some((f) => f.kind !== 'ClusterIP');
  const noLocal = { internal: 0, external: 0 };
  for (const p of ports) {
    const missing = noLocalEndpoints(svc.spec, p.backends, hasExternal);
    noLocal.internal += missing.internal ? 1 : 0;
    noLocal.external += missing.external ? 1 : 0;
  }
  return { frontends, noLocalEndpoints: noLocal };
}

/** The frontends that won over other services', ordered by frontendKey;
 *  services ordered by service name. */
export function winners(services: ServiceFrontends[]): { sorted: Frontend[]; conflicts: string[] } {
  const { frontends, conflicts } = resolveConflicts(services.flatMap((s) => s.frontends));
  return { sorted: sortedBy(frontends, frontendKey), conflicts };
}

/** The desired state from the winning frontends (ordered by frontendKey). */
export function desiredState(sorted: Frontend[], conflicts: string[], services: ServiceFrontends[], node: NodeContext): DesiredState {
  const noLocal = { internal: 0, external: 0 };
  for (const s of services) {
    noLocal.internal += s.noLocalEndpoints.internal;
    noLocal.external += s.noLocalEndpoints.external;
  }
  return {
    // A LoadBalancer frontend whose source ranges shut this node out is left
    // to the real load balancer (source_ranges.ts).
    frontends: sorted.filter((f) => nodeMayUse(f, node)),
    edgeFrontends: sorted.filter((f) => f.kind !== 'ClusterIP'),
    conflicts,
    noLocalEndpoints: noLocal,
  };
}

export function desiredFrontends(services: Iterable<Service>, slices: Iterable<EndpointSlice>, node: NodeContext, config: ModelConfig): DesiredState {
  const bySvc = slicesByService([...slices]);
  const ordered = sortedBy([...services], (svc) => objectName(svc.metadata));
  const perService = ordered.map((svc) => serviceFrontends(svc, bySvc.get(objectName(svc.metadata)) ?? [], node, config));
  const { sorted, conflicts } = winners(perService);
  return desiredState(sorted, conflicts, perService, node);
}
