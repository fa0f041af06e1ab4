// Traffic policies: which endpoints each kind of traffic may reach, by
// kube-proxy's rules.
//
// - The cluster-wide set: every endpoint, narrowed by topology.
// - The local set: endpoints on this node (endpoint nodeName), no topology.
// - internalTrafficPolicy Local: ClusterIP traffic uses the local set; with
//   no local endpoint it has none (kube-proxy drops it).
// - externalTrafficPolicy Local: traffic from outside to NodePorts,
//   LoadBalancer IPs and external IPs uses the local set, so the client's
//   address survives and nothing crosses nodes; with no local endpoint it
//   has none (the cloud load balancer's health check steers clients away).
//   Traffic from this node itself (pods and host processes) to those same
//   frontends takes the cluster-wide set instead: kube-proxy short-circuits
//   it, since there is no client address to keep and a node without a local
//   endpoint would otherwise cut its own pods off the service.
// - internalTrafficPolicy never applies to external frontends.
// Each set falls back to serving-and-terminating endpoints on its own when it
// has no ready one (endpoint_conditions.ts).
import { PlacedBackend } from './backend_location';
import { backendSet, placedBackendSet } from './backends';
import { usableEndpoints } from './endpoint_conditions';
import { EndpointCandidate } from './endpoint_duplicates';
import { BackendAddr } from './frontend';
import { NodeContext } from './node';
import { ServiceSpec } from './objects';
import { topologyEndpoints } from './topology';

export interface TrafficBackends {
  /** ClusterIP frontends, whoever the client. */
  internal: BackendAddr[];
  /** The same set with the nodes of its endpoints, when routed clients reach
   *  ClusterIPs through the edge LB (--bpf-lb-external-clusterip). */
  internalPlaced?: PlacedBackend[];
  /** NodePort, LoadBalancer and ExternalIP frontends, traffic from this node. */
  fromNode: BackendAddr[];
  /** The same frontends, traffic from outside the node; with their nodes,
   *  which the edge LB tunnels to. */
  external: PlacedBackend[];
}

function clusterEndpoints(eps: EndpointCandidate[], node: NodeContext): EndpointCandidate[] {
  return usableEndpoints(topologyEndpoints(eps, node));
}

function localEndpoints(eps: EndpointCandidate[], node: NodeContext): EndpointCandidate[] {
  return usableEndpoints(eps.filter((e) => e.nodeName === node.name));
}

/** Whether the cloud load balancer must learn which nodes have local
 *  endpoints: only those should get its traffic. */
export function needsHealthCheck(spec: ServiceSpec): boolean {
  return spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
}

/** The port where kube-proxy answers those health checks. */
export function healthCheckNodePort(spec: ServiceSpec): number | undefined {
  return needsHealthCheck(spec) ? spec.healthCheckNodePort : undefined;
}

/** The backend sets of one service port's endpoints (of one family);
 *  placeInternal: internalPlaced too. */
export function trafficBackends(spec: ServiceSpec, eps: EndpointCandidate[], node: NodeContext, placeInternal = false): TrafficBackends {
  const clusterEps = clusterEndpoints(eps, node);
  const localEps = localEndpoints(eps, node);
  const cluster = backendSet(clusterEps);
  const internalEps = spec.internalTrafficPolicy === 'Local' ? localEps : clusterEps;
  const externalEps = spec.externalTrafficPolicy === 'Local' ? localEps : clusterEps;
  const external = placedBackendSet(externalEps);
  return {
    internal: internalEps === clusterEps ? cluster : backendSet(internalEps),
    // The same endpoints as the external set: the same set.
    internalPlaced: !placeInternal ? undefined : internalEps === externalEps ? external : placedBackendSet(internalEps),
    fromNode: cluster,
    external,
  };
}

/** kube-proxy's no_local_endpoints count for one service port: a Local
 *  policy leaves a scope without endpoints although the service has some. */
export function noLocalEndpoints(spec: ServiceSpec, b: TrafficBackends, hasExternalFrontends: boolean): { internal: boolean; external: boolean } {
  const hasEndpoints = b.fromNode.length > 0;
  return {
    internal: hasEndpoints && spec.internalTrafficPolicy === 'Local' && b.internal.length === 0,
    external: hasEndpoints && hasExternalFrontends && spec.externalTrafficPolicy === 'Local' && b.external.length === 0,
  };
}
