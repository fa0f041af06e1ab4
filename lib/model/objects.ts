// The Kubernetes objects the model reads, in their API shape. Optional fields
// stay optional: the model applies the API's defaults itself (protocol,
// endpoint conditions, affinity timeout), so objects that never went through
// an API server (standalone manifests) mean the same as ones that did.
// Sources hand over validated objects whose IP addresses are canonical
// (lib/model/ip_address.ts), so the model can compare them as strings.
import { Protocol } from './protocol';

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
}

export const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'] as const;
export type ServiceType = (typeof SERVICE_TYPES)[number];

export const SESSION_AFFINITIES = ['None', 'ClientIP'] as const;
export type SessionAffinity = (typeof SESSION_AFFINITIES)[number];

export interface ServicePort {
  name?: string;
  protocol?: Protocol;
  port: number;
}

export interface ServiceSpec {
  type?: ServiceType;
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: ServicePort[];
  sessionAffinity?: SessionAffinity;
  sessionAffinityConfig?: { clientIP?: { timeoutSeconds?: number } };
}

export interface Service {
  metadata: ObjectMeta;
  spec: ServiceSpec;
}

export const ADDRESS_TYPES = ['IPv4', 'IPv6', 'FQDN'] as const;
export type AddressType = (typeof ADDRESS_TYPES)[number];

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
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

export function objectName(meta: ObjectMeta): string {
  return `${meta.namespace}/${meta.name}`;
}
