// Standalone-mode manifests (--manifests DIR): a v1 Service and its
// discovery.k8s.io/v1 EndpointSlices, one slice per address family, spelled
// like examples/demo.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as yaml from 'js-yaml';
import type { Protocol } from '../../lib/model/protocol';

export interface ServicePort {
  name: string;
  port: number;
  /** Backend port; defaults to port. */
  targetPort?: number;
  protocol?: Protocol;
  nodePort?: number;
}

export interface Endpoint {
  addr: string;
  /** conditions.ready; defaults to true. */
  ready?: boolean;
  /** The node it runs on (nodeName). */
  node?: string;
}

export interface ServiceSpec {
  namespace: string;
  name: string;
  /** One per family; the first is spec.clusterIP. */
  clusterIPs: string[];
  ports: ServicePort[];
  endpoints: Endpoint[];
  /** Merged into the Service's spec (type, sessionAffinity, ...). */
  extraSpec?: Record<string, unknown>;
  /** The Service's status (status.loadBalancer.ingress). */
  status?: Record<string, unknown>;
  annotations?: Record<string, string>;
}

const familyOf = (addr: string): 'IPv4' | 'IPv6' => (net.isIPv6(addr) ? 'IPv6' : 'IPv4');

function service(s: ServiceSpec): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: s.namespace, name: s.name, ...(s.annotations ? { annotations: s.annotations } : {}) },
    ...(s.status ? { status: s.status } : {}),
    spec: {
      type: 'ClusterIP',
      ipFamilyPolicy: s.clusterIPs.length > 1 ? 'PreferDualStack' : 'SingleStack',
      ipFamilies: s.clusterIPs.map(familyOf),
      clusterIP: s.clusterIPs[0],
      clusterIPs: s.clusterIPs,
      ports: s.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort ?? p.port, protocol: p.protocol ?? 'TCP', ...(p.nodePort ? { nodePort: p.nodePort } : {}) })),
      ...s.extraSpec,
    },
  };
}

function slice(s: ServiceSpec, family: 'IPv4' | 'IPv6'): object {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      namespace: s.namespace,
      name: `${s.name}-${family.toLowerCase()}`,
      labels: { 'kubernetes.io/service-name': s.name },
    },
    addressType: family,
    ports: s.ports.map((p) => ({ name: p.name, port: p.targetPort ?? p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: s.endpoints
      .filter((e) => familyOf(e.addr) === family)
      .map((e) => ({ addresses: [e.addr], conditions: { ready: e.ready ?? true }, ...(e.node ? { nodeName: e.node } : {}) })),
  };
}

/** The Service and one EndpointSlice per family of its cluster IPs, as multi-document YAML. */
export function serviceManifest(s: ServiceSpec): string {
  const docs = [service(s), ...s.clusterIPs.map((ip) => slice(s, familyOf(ip)))];
  return docs.map((d) => yaml.dump(d)).join('---\n');
}

/** A Node with its InternalIP addresses: where its pods' tunnels go. */
export function nodeManifest(name: string, addresses: string[]): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    status: { addresses: addresses.map((address) => ({ type: 'InternalIP', address })) },
  });
}

/** A running Pod on a node with its addresses, as the API reports one; hostPorts: its one container's published ports. */
export function podManifest(p: {
  namespace: string;
  name: string;
  node: string;
  ips: string[];
  annotations?: Record<string, string>;
  created?: string;
  hostPorts?: { containerPort: number; hostPort: number; protocol?: string }[];
}): string {
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace: p.namespace, name: p.name, ...(p.annotations ? { annotations: p.annotations } : {}), ...(p.created ? { creationTimestamp: p.created } : {}) },
    spec: { nodeName: p.node, ...(p.hostPorts ? { containers: [{ name: 'app', ports: p.hostPorts }] } : {}) },
    status: { phase: 'Running', podIPs: p.ips.map((ip) => ({ ip })) },
  });
}

export function namespaceManifest(name: string, annotations: Record<string, string> = {}): string {
  return yaml.dump({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations } });
}

/** Replaces dir/file atomically, as editors do: write a temporary file, then rename. */
export function writeManifest(dir: string, file: string, content: string): void {
  const tmp = path.join(dir, `.${file}.tmp`);
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, path.join(dir, file));
}
