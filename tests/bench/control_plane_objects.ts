// What the control-plane benchmark puts into the API server: SERVICES
// ClusterIP Services of one TCP port, each with one EndpointSlice of
// ENDPOINTS ready endpoints, and the single-endpoint changes it makes later.
// Endpoint addresses stay in 198.18.0.0/16 (the ClusterIPs come from
// 198.19.0.0/16, the apiserver's range): initial endpoints in 198.18.0-249.x,
// shared between services (a backend belongs to its service in the maps, so
// reuse is harmless), and every change's new address in 198.18.250-254.x, so
// that a change is never mistaken for the initial state.
import { SERVICE_NAME_LABEL } from '../../lib/model/service_slices';
import { LAST_CHANGE_TRIGGER_TIME } from '../../lib/sync/proxy_state';
import { ApiWriter, Json } from './control_plane_api';

export const NAMESPACE = 'kpr-bench';
export const SERVICE_PORT = 80;
export const BACKEND_PORT = 8080;
export const NODE_NAME = 'node-a';
export const NODE_ADDRESS = '198.18.255.254';
const HOSTS_PER_SUBNET = 254;
const INITIAL_SUBNETS = 250;
const CHANGE_SUBNET_BASE = 250;
/** Changes whose addresses fit in 198.18.250.1 - 198.18.254.254. */
export const MAX_CHANGES = 4 * HOSTS_PER_SUBNET;

/** n-th host of 198.18.<base + n/254>.<1 + n%254>: no .0 or .255 hosts. */
const host = (base: number, n: number) => `198.18.${base + Math.floor(n / HOSTS_PER_SUBNET)}.${1 + (n % HOSTS_PER_SUBNET)}`;

export const serviceName = (i: number) => `svc-${i}`;
const sliceName = (i: number) => `svc-${i}-bench`;

/** Endpoint j of service i before any change. */
export function initialEndpoint(i: number, j: number, endpoints: number): string {
  return host(0, (i * endpoints + j) % (INITIAL_SUBNETS * HOSTS_PER_SUBNET));
}

/** The address change n (0-based) puts in place of endpoint 0. */
export function changedEndpoint(n: number): string {
  if (n >= MAX_CHANGES) throw new Error(`at most ${MAX_CHANGES} changes fit the change range`);
  return host(CHANGE_SUBNET_BASE, n);
}

export function initialEndpoints(i: number, endpoints: number): string[] {
  return Array.from({ length: endpoints }, (_, j) => initialEndpoint(i, j, endpoints));
}

const servicesPath = `/api/v1/namespaces/${NAMESPACE}/services`;
const slicesPath = `/apis/discovery.k8s.io/v1/namespaces/${NAMESPACE}/endpointslices`;

/** The namespace, and this node's Node, so the agent finds the node it is told it runs on. */
export async function createBase(api: ApiWriter): Promise<void> {
  await api.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } });
  await createNode(api, NODE_NAME, NODE_ADDRESS);
}

/** A Node of one InternalIP (status is a subresource: written apart). */
export async function createNode(api: ApiWriter, name: string, address: string): Promise<void> {
  await api.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name } });
  await api.mergePatch(`/api/v1/nodes/${name}/status`, { status: { addresses: [{ type: 'InternalIP', address }] } });
}

/** The one port of a service: TCP unless said, a NodePort when it has one. */
export interface BenchPort {
  protocol?: 'TCP' | 'UDP';
  nodePort?: number;
}

/** Creates Service i; returns the ClusterIP the apiserver gave it. */
export async function createService(api: ApiWriter, i: number, port: BenchPort = {}): Promise<string> {
  const protocol = port.protocol ?? 'TCP';
  const created = await api.create(servicesPath, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: serviceName(i), namespace: NAMESPACE },
    spec: {
      type: port.nodePort === undefined ? 'ClusterIP' : 'NodePort',
      ports: [{ name: 'http', protocol, port: SERVICE_PORT, targetPort: BACKEND_PORT, nodePort: port.nodePort }],
    },
  });
  const ip = (created.spec as { clusterIP?: string } | undefined)?.clusterIP;
  if (!ip || !ip.startsWith('198.19.')) throw new Error(`service ${serviceName(i)}: ClusterIP ${ip} is not in 198.19.0.0/16`);
  return ip;
}

/** Endpoints without a nodeName are taken for the node's own. */
const endpointsJson = (addresses: string[], nodeName?: string): Json[] => addresses.map((a) => ({ addresses: [a], conditions: { ready: true }, ...(nodeName ? { nodeName } : {}) }));

export async function createSlice(api: ApiWriter, i: number, endpoints: number, protocol: 'TCP' | 'UDP' = 'TCP', nodeName?: string): Promise<void> {
  await api.create(slicesPath, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: sliceName(i), namespace: NAMESPACE, labels: { [SERVICE_NAME_LABEL]: serviceName(i) } },
    addressType: 'IPv4',
    endpoints: endpointsJson(initialEndpoints(i, endpoints), nodeName),
    ports: [{ name: 'http', protocol, port: BACKEND_PORT }],
  });
}

/** Replaces service i's endpoints, stamped the way the EndpointSlice
 *  controller stamps a change (RFC 3339, milliseconds, which the agent's
 *  Date.parse reads) so that the agent's programming-latency metric counts it. */
export async function replaceEndpoints(api: ApiWriter, i: number, addresses: string[], triggerTime: Date): Promise<void> {
  await api.mergePatch(`${slicesPath}/${sliceName(i)}`, {
    metadata: { annotations: { [LAST_CHANGE_TRIGGER_TIME]: triggerTime.toISOString() } },
    endpoints: endpointsJson(addresses),
  });
}
