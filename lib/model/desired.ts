// Desired state: every frontend the datapath should serve, from Services,
// EndpointSlices, this node, the other nodes' addresses and the config, in two views: the socket LB's
// (traffic from this node) and the edge LB's (traffic from outside).
import { NO_NODE_ADDRESSES, NodeAddresses } from './backend_location';
import { annotatedForwardingMode } from './forwarding_mode';
import { ExternalFrontend, Frontend, frontendKey, isExternal } from './frontend';
import { resolveConflicts } from './frontend_conflicts';
import { HealthCheck, healthCheck } from './health_check';
import { annotatedLbAlgorithm } from './lb_algorithm';
import { ModelConfig, NodeContext } from './node';
import { EndpointSlice, objectName, Pod, Service } from './objects';
import { hostPortFrontends } from './host_ports';
import { sortedBy } from './order';
import { familyPorts } from './service_port';
import { slicesByService } from './service_slices';
import { clusterIpFrontends, clusterIPs } from './service_types/clusterip';
import { externalIpFrontends } from './service_types/external_ips';
import { loadBalancerFrontends } from './service_types/loadbalancer';
import { nodePortFrontends } from './service_types/nodeport';
import { isLoopback } from './nodeport_addresses';
import { podFrontend } from './pod_frontends';
import { nodeMayUse } from './source_ranges';
import { noLocalEndpoints } from './traffic_policy';

export interface DesiredState {
  /** The socket LB's frontends: all that traffic from this node may use.
   *  Ordered by frontendKey, one per key. */
  frontends: Frontend[];
  /** The edge LB's frontends: every NodePort, LoadBalancer and ExternalIP
   *  frontend, for traffic from outside (and ClusterIPs with
   *  --bpf-lb-external-clusterip). Ordered by frontendKey. */
  edgeFrontends: ExternalFrontend[];
  /** The per-packet path's frontends: those of `frontends` as the node's
   *  pods reach them (pod_frontends.ts); empty unless config.podPath. */
  podFrontends: ExternalFrontend[];
  conflicts: string[];
  /** Settings the model could not apply as given (a bad annotation, a
   *  backend whose node has no address), one line each, by service name. */
  warnings: string[];
  /** healthCheckNodePort servers to run, by service name. */
  healthChecks: HealthCheck[];
  /** Service ports per family whose Local traffic policy finds no endpoint
   *  on this node while the service has endpoints elsewhere. */
  noLocalEndpoints: { internal: number; external: number };
  /** The same object as an earlier state's while every frontend has kept
   *  its key, its kind and its place since (only backends or settings
   *  changed): what follows from those alone, such as the ClusterIPs, still
   *  holds. */
  layout: object;
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
  warnings: string[];
  healthCheck?: HealthCheck;
}

export function serviceFrontends(svc: Service, slices: EndpointSlice[], node: NodeContext, config: ModelConfig, nodes: NodeAddresses): ServiceFrontends {
  const ports = clusterIPs(svc.spec).flatMap((ip) => familyPorts(svc, ip, slices, node, config, nodes));
  // A copy of its own length: flatMap leaves its result room to grow (184
  // against 56 bytes for one frontend, measured), and the memo keeps one
  // per service.
  const frontends = KINDS.flatMap((kind) => ports.flatMap((p) => kind(p, node, config))).slice();
  const hasExternal = frontends.some((f) => f.kind !== 'ClusterIP');
  const atEdge = frontends.some(isExternal);
  const noLocal = { internal: 0, external: 0 };
  for (const p of ports) {
    const missing = noLocalEndpoints(svc.spec, p.backends, hasExternal);
    noLocal.internal += missing.internal ? 1 : 0;
    noLocal.external += missing.external ? 1 : 0;
  }
  const name = objectName(svc.metadata);
  const annotations = atEdge ? [annotatedForwardingMode(svc).warning, annotatedLbAlgorithm(svc).warning] : [];
  const unlocatedLines = ports.flatMap((p) => [...(hasExternal ? p.located.unlocated : []), ...(p.routed?.unlocated ?? [])]);
  const unlocated = [...new Set(unlocatedLines)].map((u) => `Service ${name}: ${u}`);
  const warnings = [...annotations.filter((w): w is string => w !== undefined), ...unlocated];
  return { frontends, noLocalEndpoints: noLocal, warnings, healthCheck: healthCheck(svc, slices, node) };
}

/** The frontends that won over other services', ordered by frontendKey;
 *  services ordered by service name. */
export function winners(services: ServiceFrontends[]): { sorted: Frontend[]; conflicts: string[] } {
  const { frontends, conflicts } = resolveConflicts(services.flatMap((s) => s.frontends));
  return { sorted: sortedBy(frontends, frontendKey), conflicts };
}

/** The desired state from the winning frontends (ordered by frontendKey). */
export function desiredState(sorted: Frontend[], conflicts: string[], services: Iterable<ServiceFrontends>, node: NodeContext, config: ModelConfig, layout: object = {}): DesiredState {
  const noLocal = { internal: 0, external: 0 };
  const warnings: string[] = [];
  const healthChecks: HealthCheck[] = [];
  for (const s of services) {
    noLocal.internal += s.noLocalEndpoints.internal;
    noLocal.external += s.noLocalEndpoints.external;
    for (const w of s.warnings) warnings.push(w);
    if (s.healthCheck) healthChecks.push(s.healthCheck);
  }
  // A LoadBalancer frontend whose source ranges shut this node out is left
  // to the real load balancer (source_ranges.ts). Usually none is: then the
  // list is sorted itself, not a copy of 100k entries per sync.
  const frontends = sorted.every((f) => nodeMayUse(f, node)) ? sorted : sorted.filter((f) => nodeMayUse(f, node));
  return {
    frontends,
    edgeFrontends: sorted.filter(isExternal),
    // Loopback in a pod's namespace is the pod's own (localhost NodePorts are the node's).
    podFrontends: config.podPath ? frontends.filter((f) => !isLoopback(f.addr)).map((f) => podFrontend(f, config)) : [],
    conflicts,
    noLocalEndpoints: noLocal,
    warnings,
    healthChecks,
    layout,
  };
}

/** One service's frontends before and after a change. */
export interface ServiceChange {
  prev: ServiceFrontends;
  next: ServiceFrontends;
}

/** desiredState() of sorted, which is last's winners (lastSorted) with the
 *  changed services' frontends in their places: what those services do not
 *  touch is last's (at 100k services, walking every service's results per
 *  change cost about 10 ms). services, every result, is walked only when a
 *  changed service has warnings or a health check, or pods have frontends
 *  of their own. */
export function patchedState(last: DesiredState, lastSorted: Frontend[], sorted: Frontend[], changed: ServiceChange[], services: Iterable<ServiceFrontends>, node: NodeContext, config: ModelConfig): DesiredState {
  const touched = changed.flatMap((c) => [c.prev, c.next]);
  if (config.podPath || touched.some((s) => s.warnings.length > 0 || s.healthCheck)) return desiredState(sorted, [], services, node, config, last.layout);
  const noLocal = { ...last.noLocalEndpoints };
  for (const { prev, next } of changed) {
    noLocal.internal += next.noLocalEndpoints.internal - prev.noLocalEndpoints.internal;
    noLocal.external += next.noLocalEndpoints.external - prev.noLocalEndpoints.external;
  }
  // Every frontend the node could use before still can (the node is the same): only the new ones need a look.
  const usable = last.frontends === lastSorted && changed.every((c) => c.next.frontends.every((f) => nodeMayUse(f, node)));
  const atEdge = touched.some((s) => s.frontends.some(isExternal));
  return {
    ...last,
    frontends: usable ? sorted : sorted.filter((f) => nodeMayUse(f, node)),
    edgeFrontends: atEdge ? sorted.filter(isExternal) : last.edgeFrontends,
    noLocalEndpoints: noLocal,
  };
}

/** The hostPorts of this node's pods, as one more owner of frontends that
 *  comes after every Service (host_ports.ts). */
export function hostPortOwner(pods: Iterable<Pod>, node: NodeContext, config: ModelConfig): ServiceFrontends {
  const { frontends, warnings } = hostPortFrontends(pods, node, config);
  return { frontends, warnings, noLocalEndpoints: { internal: 0, external: 0 } };
}

export function desiredFrontends(
  services: Iterable<Service>,
  slices: Iterable<EndpointSlice>,
  node: NodeContext,
  config: ModelConfig,
  nodes: NodeAddresses = NO_NODE_ADDRESSES,
  pods: Iterable<Pod> = [],
): DesiredState {
  const bySvc = slicesByService([...slices]);
  const ordered = sortedBy([...services], (svc) => objectName(svc.metadata));
  const perService = [...ordered.map((svc) => serviceFrontends(svc, bySvc.get(objectName(svc.metadata)) ?? [], node, config, nodes)), hostPortOwner(pods, node, config)];
  const { sorted, conflicts } = winners(perService);
  return desiredState(sorted, conflicts, perService, node, config);
}
