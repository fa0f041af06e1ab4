// What the flow-rate benchmark puts into the API server: this node's Node
// (createBase), the backend's Node with an address of its own, and a TCP
// and a UDP NodePort service (externalTrafficPolicy Cluster, the default)
// whose one endpoint runs on that other node. So kpr forwards in snat mode
// (its default --bpf-lb-mode) and kube-proxy masquerades: both keep NAT state
// per flow, which is what the benchmark loads.
import { Cluster, startCluster } from '../e2e/cluster';
import { ApiWriter } from './control_plane_api';
import { createBase, createNode, createService, createSlice, initialEndpoints } from './control_plane_objects';
import { Service } from './datapath_objects';
import { Programmed } from './datapath_peers';

export const TCP_NODE_PORT = 30090;
export const UDP_NODE_PORT = 30091;
/** Indexes no other benchmark population reaches. */
const TCP_INDEX = 2_000_000;
const UDP_INDEX = 2_000_001;
export const BACKEND_NODE = 'node-b';
/** The backend's node: slot 0's far end of the link (datapath_topology.ts). */
export const BACKEND_NODE_ADDRESS = '198.18.252.2';

export interface FlowRateServices {
  tcp: Service;
  udp: Service;
}

/** backendNodeAddress: the backend node's address on its link to the proxy's node. */
export async function createFlowRateObjects(api: ApiWriter, backendNodeAddress: string): Promise<FlowRateServices> {
  await createBase(api);
  await createNode(api, BACKEND_NODE, backendNodeAddress);
  const tcp = { clusterIP: await createService(api, TCP_INDEX, { nodePort: TCP_NODE_PORT }), endpoints: initialEndpoints(TCP_INDEX, 1) };
  await createSlice(api, TCP_INDEX, 1, 'TCP', BACKEND_NODE);
  const udp = { clusterIP: await createService(api, UDP_INDEX, { protocol: 'UDP', nodePort: UDP_NODE_PORT }), endpoints: initialEndpoints(UDP_INDEX, 1) };
  await createSlice(api, UDP_INDEX, 1, 'UDP', BACKEND_NODE);
  return { tcp, udp };
}

/** Runs fn against a kube-apiserver and etcd that hold the objects; stops them after. */
export async function withFlowRateObjects(prefix: string, fn: (cluster: Cluster, services: FlowRateServices) => Promise<void>): Promise<void> {
  console.log('starting kube-apiserver and etcd');
  const cluster = await startCluster({ prefix });
  const api = new ApiWriter(cluster, 1);
  try {
    await fn(cluster, await createFlowRateObjects(api, BACKEND_NODE_ADDRESS));
  } finally {
    api.close();
    await cluster.stop();
  }
}

/** What a peer must have programmed before it is probed. */
export function programmedFor(s: FlowRateServices): Programmed {
  return {
    pop: { clusterIPs: [s.tcp.clusterIP, s.udp.clusterIP], endpoints: [s.tcp.endpoints, s.udp.endpoints] },
    endpoints: 1,
    tcp: [{ clusterIP: s.tcp.clusterIP, addresses: s.tcp.endpoints }],
  };
}
