// The model's output: what the datapath should serve. One frontend per
// (service address, port, protocol), each with its complete backend sets:
// one for traffic from this node itself (pods and host processes, which the
// socket LB sees) and one for traffic arriving from outside (the edge LB's).
// The two differ only where externalTrafficPolicy is Local.
import { ForwardingMode } from './forwarding_mode';
import { formatAddrPort } from './ip_address';
import { LbAlgorithm } from './lb_algorithm';
import { compareStrings } from './order';
import { Protocol } from './protocol';

export interface BackendAddr {
  addr: string;
  port: number;
}

/** Which traffic an edge frontend is for: absent, clients outside the node
 *  (XDP); 'pod', the node's own pods (the per-packet path at their
 *  interfaces, bpf/include/kpr_pod_path.h). One address, port and protocol
 *  may be in both. */
export type EdgeScope = 'pod';

/** An external backend and where it runs (backend_location.ts). */
export interface LocatedBackend extends BackendAddr {
  /** Address of the node that hosts it, of its family; absent: this node routes to it. */
  nodeAddr?: string;
}

/** HostPort: a pod's container port published on the node (host_ports.ts); serviceName then names the pod. */
export type FrontendKind = 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalIP' | 'HostPort';

export interface Frontend {
  kind: FrontendKind;
  addr: string;
  port: number;
  proto: Protocol;
  /** "namespace/name" of the service, for logs and errors. */
  serviceName: string;
  /** Name of the service port ("" when the service has a single unnamed port). */
  portName: string;
  /** ClientIP affinity timeout in seconds; 0 = no affinity. */
  affinityTimeout: number;
  /** Traffic from this node. Sorted, unique. Empty: the datapath refuses
   *  connections (kube-proxy's REJECT). */
  backends: BackendAddr[];
  /** Traffic from outside the node; the same as backends for ClusterIP. */
  externalBackends: BackendAddr[];
  /** Canonical CIDRs of the clients allowed from outside; empty: all.
   *  Only LoadBalancer frontends have any. */
  sourceRanges: string[];
  /** Where the cloud load balancer asks whether this node has local
   *  endpoints: LoadBalancer services with externalTrafficPolicy Local. */
  healthCheckNodePort?: number;
}

/** A frontend the edge LB serves (every NodePort, LoadBalancer and
 *  ExternalIP frontend; ClusterIPs with --bpf-lb-external-clusterip), with
 *  what it needs besides: where each backend runs and how to reach it. */
export interface ExternalFrontend extends Frontend {
  externalBackends: LocatedBackend[];
  forwardingMode: ForwardingMode;
  lbAlgorithm: LbAlgorithm;
  /** A Local traffic policy (external, or internal for a ClusterIP), endpoints
   *  only on other nodes: kube-proxy drops such traffic rather than rejecting
   *  it (traffic_policy.ts). */
  dropWithoutBackends: boolean;
  /** The service port and family the frontend serves ("namespace/name|port|family"):
   *  the edge LB's frontends of one edge service share its backends, Maglev
   *  table, affinity and source ranges, as kube-proxy's external frontends
   *  share one service chain. */
  edgeService: string;
  /** 'pod': the per-packet path's view of the frontend (pod_frontends.ts);
   *  absent: the edge LB's, for clients outside the node. */
  scope?: EdgeScope;
}

/** Whether the edge LB serves f: what externalFrontend() built. */
export function isExternal(f: Frontend): f is ExternalFrontend {
  return 'edgeService' in f;
}

/** Identity of a frontend; addr must be canonical. */
export function frontendKey(f: { addr: string; port: number; proto: Protocol }): string {
  return `${f.addr}|${f.port}|${f.proto}`;
}

/** Identity of an edge frontend: the same address in both views is two. */
export function edgeFrontendKey(f: { addr: string; port: number; proto: Protocol; scope?: EdgeScope }): string {
  return f.scope ? `${frontendKey(f)}|${f.scope}` : frontendKey(f);
}

/** "198.19.0.10:80/TCP", "[fd00:198:18::10]:53/UDP". */
export function formatFrontend(f: { addr: string; port: number; proto: Protocol }): string {
  return `${formatAddrPort(f.addr, f.port)}/${f.proto}`;
}

export function backendKey(b: BackendAddr): string {
  return `${b.addr}|${b.port}`;
}

export function compareBackends(a: BackendAddr, b: BackendAddr): number {
  return compareStrings(a.addr, b.addr) || a.port - b.port;
}
