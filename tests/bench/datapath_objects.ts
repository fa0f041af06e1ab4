// What the datapath benchmark adds to the control-plane benchmark's
// population (control_plane_objects.ts), and where its clients aim: a UDP
// ClusterIP service and a TCP and a UDP NodePort service, of as many
// endpoints as the others, under indexes no population reaches; and the sample of the TCP
// services the ClusterIP scenarios spread their connections over, evenly
// across the population (kube-proxy iptables walks its services in order).
import { ApiWriter } from './control_plane_api';
import { BACKEND_PORT, createService, createSlice, initialEndpoints, NODE_ADDRESS, SERVICE_PORT } from './control_plane_objects';
import { Population } from './peers_result';

export const NODE_PORT = 30080;
export const UDP_NODE_PORT = 30081;
const UDP_INDEX = 1_000_000;
const NODE_PORT_INDEX = 1_000_001;
const UDP_NODE_PORT_INDEX = 1_000_002;
/** How many services the ClusterIP scenarios' clients go round. */
const SAMPLE = 32;

export interface Service {
  clusterIP: string;
  endpoints: string[];
}

export interface ExtraServices {
  udp: Service;
  nodePort: Service;
  udpNodePort: Service;
}

export async function createExtraServices(api: ApiWriter, endpoints: number): Promise<ExtraServices> {
  const udp = { clusterIP: await createService(api, UDP_INDEX, { protocol: 'UDP' }), endpoints: initialEndpoints(UDP_INDEX, endpoints) };
  await createSlice(api, UDP_INDEX, endpoints, 'UDP');
  const nodePort = { clusterIP: await createService(api, NODE_PORT_INDEX, { nodePort: NODE_PORT }), endpoints: initialEndpoints(NODE_PORT_INDEX, endpoints) };
  await createSlice(api, NODE_PORT_INDEX, endpoints);
  const udpNodePort = { clusterIP: await createService(api, UDP_NODE_PORT_INDEX, { protocol: 'UDP', nodePort: UDP_NODE_PORT }), endpoints: initialEndpoints(UDP_NODE_PORT_INDEX, endpoints) };
  await createSlice(api, UDP_NODE_PORT_INDEX, endpoints, 'UDP');
  return { udp, nodePort, udpNodePort };
}

/** Addresses and port a client aims at. */
export interface Target {
  addrs: string[];
  port: number;
}

export interface Targets {
  clusterTcp: Target;
  clusterUdp: Target;
  nodePort: Target;
  udpNodePort: Target;
}

/** Through the proxy: its frontends. Direct: the endpoints behind them,
 *  as many addresses as frontends. */
export function targets(pop: Population, extra: ExtraServices, direct: boolean): Targets {
  const n = pop.clusterIPs.length;
  const sample = Array.from({ length: Math.min(SAMPLE, n) }, (_, k) => Math.floor((k * n) / Math.min(SAMPLE, n)));
  if (direct) {
    return {
      clusterTcp: { addrs: sample.map((i, k) => pop.endpoints[i][k % pop.endpoints[i].length]), port: BACKEND_PORT },
      clusterUdp: { addrs: [extra.udp.endpoints[0]], port: BACKEND_PORT },
      nodePort: { addrs: [extra.nodePort.endpoints[0]], port: BACKEND_PORT },
      udpNodePort: { addrs: [extra.udpNodePort.endpoints[0]], port: BACKEND_PORT },
    };
  }
  return {
    clusterTcp: { addrs: sample.map((i) => pop.clusterIPs[i]), port: SERVICE_PORT },
    clusterUdp: { addrs: [extra.udp.clusterIP], port: SERVICE_PORT },
    nodePort: { addrs: [NODE_ADDRESS], port: NODE_PORT },
    udpNodePort: { addrs: [NODE_ADDRESS], port: UDP_NODE_PORT },
  };
}
