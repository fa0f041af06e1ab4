// One port of a service in one IP family: what all frontend kinds built on
// it share. kube-proxy proxies each family on its own, and a service serves
// a family only if it has a cluster IP of that family: its external IPs,
// load balancer IPs and node ports of the other family stay unserved.
import { Located, locateBackends, NodeAddresses } from './backend_location';
import { portEndpoints } from './backends';
import { forwardingMode } from './forwarding_mode';
import { ExternalFrontend, Frontend, FrontendKind } from './frontend';
import { IpFamily, ipFamily } from './ip_address';
import { slicesOfFamily } from './ip_family';
import { lbAlgorithm } from './lb_algorithm';
import { ModelConfig, NodeContext } from './node';
import { EndpointSlice, objectName, Service, ServicePort } from './objects';
import { Protocol, protocolOf } from './protocol';
import { affinityTimeout } from './session_affinity';
import { frontendSourceRanges } from './source_ranges';
import { healthCheckNodePort, noLocalEndpoints, TrafficBackends, trafficBackends } from './traffic_policy';

export interface FamilyPort {
  svc: Service;
  family: IpFamily;
  clusterIP: string;
  sp: ServicePort;
  proto: Protocol;
  backends: TrafficBackends;
  /** backends.external with their node addresses, shared by every external frontend of the port. */
  located: Located;
  /** backends.internalPlaced with their node addresses (--bpf-lb-external-clusterip only). */
  routed?: Located;
  config: ModelConfig;
}

export function familyPorts(svc: Service, clusterIP: string, slices: EndpointSlice[], node: NodeContext, config: ModelConfig, nodes: NodeAddresses): FamilyPort[] {
  const family = ipFamily(clusterIP);
  const familySlices = slicesOfFamily(slices, family);
  return (svc.spec.ports ?? []).map((sp) => {
    const backends = trafficBackends(svc.spec, portEndpoints(sp, familySlices), node, config.externalClusterIP);
    const located = locateBackends(backends.external, family, node, nodes);
    const placed = backends.internalPlaced;
    const routed = placed && (placed === backends.external ? located : locateBackends(placed, family, node, nodes));
    return { svc, family, clusterIP, sp, proto: protocolOf(sp.protocol), backends, located, routed, config };
  });
}

function frontend(p: FamilyPort, kind: FrontendKind, addr: string, port: number): Frontend {
  return {
    kind,
    addr,
    port,
    proto: p.proto,
    serviceName: objectName(p.svc.metadata),
    portName: p.sp.name ?? '',
    affinityTimeout: affinityTimeout(p.svc.spec),
    backends: p.backends.internal,
    externalBackends: p.backends.internal,
    sourceRanges: [],
  };
}

export function internalFrontend(p: FamilyPort, addr: string): Frontend {
  return frontend(p, 'ClusterIP', addr, p.sp.port);
}

/** A frontend that traffic from outside reaches (traffic_policy.ts). */
export function externalFrontend(p: FamilyPort, kind: Exclude<FrontendKind, 'ClusterIP'>, addr: string, port: number): ExternalFrontend {
  return {
    ...edgeSettings(p, frontend(p, kind, addr, port), p.located),
    backends: p.backends.fromNode,
    sourceRanges: frontendSourceRanges(p.svc.spec, kind, p.family, p.config.lbSourceRangeAllTypes),
    healthCheckNodePort: healthCheckNodePort(p.svc.spec),
    dropWithoutBackends: noLocalEndpoints(p.svc.spec, p.backends, true).external,
  };
}

/** A frontend of an external kind that only the node's own processes reach
 *  (a localhost NodePort): the socket LB serves it, never the edge LB. */
export function nodeOnlyFrontend(p: FamilyPort, kind: Exclude<FrontendKind, 'ClusterIP'>, addr: string, port: number): Frontend {
  return { ...frontend(p, kind, addr, port), backends: p.backends.fromNode, externalBackends: p.backends.fromNode };
}

/** A ClusterIP that routed clients reach through the edge LB as well
 *  (--bpf-lb-external-clusterip), with the same backends as from this node:
 *  internalTrafficPolicy applies to it, as kube-proxy applies it to any
 *  client of a ClusterIP. */
export function routedClusterIp(p: FamilyPort, routed: Located): ExternalFrontend {
  return {
    ...edgeSettings(p, internalFrontend(p, p.clusterIP), routed),
    dropWithoutBackends: noLocalEndpoints(p.svc.spec, p.backends, false).internal,
  };
}

/** What the edge LB needs of a frontend besides: the located backends, the
 *  forwarding mode and algorithm, and the edge service it shares them in
 *  (ClusterIPs in one of their own: their set is the internal one). */
function edgeSettings(p: FamilyPort, f: Frontend, located: Located): Omit<ExternalFrontend, 'dropWithoutBackends'> {
  return {
    ...f,
    externalBackends: located.backends,
    forwardingMode: forwardingMode(p.svc, p.proto, p.config.lbMode),
    lbAlgorithm: lbAlgorithm(p.svc, p.config.lbAlgorithm),
    edgeService: `${objectName(p.svc.metadata)}|${p.sp.name ?? ''}|${p.family}${f.kind === 'ClusterIP' ? '|cluster' : ''}`,
  };
}
