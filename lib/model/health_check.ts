// kube-proxy's healthCheckNodePort answer for a LoadBalancer service with
// externalTrafficPolicy Local: how many of the service's endpoints are ready
// on this node, counted by address (an endpoint serving two ports, or listed
// in two slices, is one), so that the cloud load balancer sends traffic only
// to nodes that have some. Terminating endpoints do not count, even while
// they still serve: a node whose endpoints are all going away should lose its
// traffic.
import { NodeContext } from './node';
import { EndpointSlice, Service } from './objects';
import { healthCheckNodePort } from './traffic_policy';

export interface HealthCheck {
  namespace: string;
  name: string;
  port: number;
  localEndpoints: number;
}

export function healthCheck(svc: Service, slices: EndpointSlice[], node: NodeContext): HealthCheck | undefined {
  const port = healthCheckNodePort(svc.spec);
  if (port === undefined) return undefined;
  const local = new Set<string>();
  for (const slice of slices) {
    if (slice.addressType === 'FQDN' || !(slice.ports ?? []).some((p) => p.port !== undefined)) continue;
    for (const ep of slice.endpoints) {
      if (ep.nodeName === node.name && (ep.conditions?.ready ?? true)) local.add(ep.address);
    }
  }
  return { namespace: svc.metadata.namespace, name: svc.metadata.name, port, localEndpoints: local.size };
}
