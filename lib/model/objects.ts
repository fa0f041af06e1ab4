// The Kubernetes objects the model reads, in their API shape. Optional fields
// stay optional: the model applies the API's defaults itself (protocol,
// endpoint conditions, affinity timeout, traffic policies Cluster, ipMode
// VIP), so objects that never went through an API server (standalone
// manifests) mean the same as ones that did.
// Sources hand over validated objects whose IP addresses and CIDRs are
// canonical (lib/model/ip_address.ts, lib/model/cidr.ts), so the model can
// compare them as strings.
import { Protocol } from './protocol';

export interface ObjectMeta {
  name: string;
  /** "" for cluster-scoped objects (Node). */
  namespace: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export const SESSION_AFFINITIES = ['None', 'ClientIP'] as const;
export type SessionAffinity = (typeof SESSION_AFFINITIES)[number];

export const TRAFFIC_POLICIES = ['Cluster', 'Local'] as const;
export type TrafficPolicy = (typeof TRAFFIC_POLICIES)[number];

export interface ServicePort {
  name?: string;
  protocol?: Protocol;
  port: number;
  /** Unset until allocated; a LoadBalancer with allocateLoadBalancerNodePorts
   *  false may have none. */
  nodePort?: number;
}

export interface ServiceSpec {
  type?: ServiceType;
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: ServicePort[];
  sessionAffinity?: SessionAffinity;
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
  externalIPs?: string[];
  loadBalancerSourceRanges?: string[];
  externalTrafficPolicy?: TrafficPolicy;
  internalTrafficPolicy?: TrafficPolicy;
  healthCheckNodePort?: number;
}

export const LOAD_BALANCER_IP_MODES = ['VIP', 'Proxy'] as const;
export type LoadBalancerIpMode = (typeof LOAD_BALANCER_IP_MODES)[number];

/** Ingresses named only by hostname have no ip. */
export interface LoadBalancerIngress {
  ip?: string;
  ipMode?: LoadBalancerIpMode;
}

export interface ServiceStatus {
  loadBalancer?: { ingress?: LoadBalancerIngress[] };
}

export interface Service {
  metadata: ObjectMeta;
  spec: ServiceSpec;
  status?: ServiceStatus;
}

export const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'] as const;
export type AddressType = (typeof ADDRESS_TYPES)[number];

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface EndpointHints {
  forZones?: { name: string }[];
  forNodes?: { name: string }[];
}

export interface Endpoint {
  /** The first of the endpoint's addresses: the API has them all fungible
   *  and proxies use the first, so the others are checked and not kept
   *  (an array per endpoint was 56 MB of a node's heap at 1M endpoints). */
  address: string;
  conditions?: EndpointConditions;
  nodeName?: string;
  hints?: EndpointHints;
}

export interface EndpointPort {
  name?: string;
  protocol?: Protocol;
  /** Unset means "all ports" in the API; no proxy can use that. */
  port?: number;
}

export interface EndpointSlice {
  metadata: ObjectMeta;
  addressType: AddressType;
  endpoints: Endpoint[];
  ports?: EndpointPort[];
}

/** The node address types that hold IP addresses; the others hold names. */
export const NODE_IP_ADDRESS_TYPES = ['InternalIP', 'ExternalIP'] as const;
export type NodeIpAddressType = (typeof NODE_IP_ADDRESS_TYPES)[number];

export interface Node {
  /** deletionTimestamp (RFC 3339): the Node is being deleted. */
  metadata: ObjectMeta & { deletionTimestamp?: string };
  /** Only the taints' keys: the proxy's health reads one (proxier_health.ts). */
  spec?: { taints?: { key: string }[] };
  /** Only the addresses that are IP addresses. */
  status?: { addresses?: { type: NodeIpAddressType; address: string }[] };
}

/** A container port published on the node (containers[].ports[] with a hostPort). */
export interface HostPort {
  containerPort: number;
  hostPort: number;
  protocol?: Protocol;
  /** Canonical; absent or unspecified (0.0.0.0, ::): every node address. */
  hostIP?: string;
}

/** A Pod, for what the proxy reads: where it runs, its addresses and the
 *  ports it publishes on the node (host_ports.ts); its annotations may ask
 *  the socket LB to leave it alone (socket_lb_bypass.ts). */
export interface Pod {
  /** creationTimestamp (RFC 3339): the older pod keeps a contested hostPort. */
  metadata: ObjectMeta & { creationTimestamp?: string };
  /** hostPorts: only the container ports that have one. */
  spec?: { nodeName?: string; hostNetwork?: boolean; hostPorts?: HostPort[] };
  /** Canonical addresses. */
  status?: { podIPs?: { ip: string }[]; phase?: string };
}

/** A Namespace: its annotations and labels may ask the same for all its pods. */
export interface Namespace {
  metadata: ObjectMeta;
}

/** A range ClusterIPs are allocated from (networking.k8s.io/v1). */
export interface ServiceCIDR {
  metadata: ObjectMeta;
  /** Canonical CIDRs, one per family at most. */
  cidrs: string[];
}

export function objectName(meta: ObjectMeta): string {
  return `${meta.namespace}/${meta.name}`;
}
