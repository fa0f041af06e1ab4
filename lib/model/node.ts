// What the model needs to know about the node it programs: its name (for
// local endpoints and node hints), its labels (zone), the addresses of its
// Node object, and the addresses of its network interfaces (with the Node's,
// where NodePorts are served: nodeport_addresses.ts). The Node's part comes
// from the Node object in Kubernetes mode and from the manifest or the local
// interfaces in standalone mode; the interfaces' part from the interfaces,
// kept current as addresses come and go.
import { LbMode } from './forwarding_mode';
import { LbAlgorithm } from './lb_algorithm';

/** This node as its source (Kubernetes or manifests) describes it. */
export interface SourceNode {
  name: string;
  labels: Record<string, string>;
  /** Canonical IP addresses of the Node, both families, InternalIP before ExternalIP. */
  addresses: string[];
}

export interface NodeContext extends SourceNode {
  /** Canonical addresses of the node's network interfaces (the agent's
   *  network namespace), both families, loopback and link-local included. */
  interfaceAddresses: string[];
}

/** The settings the model applies: kube-proxy's (KubeProxyConfiguration
 *  names) and the edge LB's defaults (Cilium's flag names). */
export interface ModelConfig {
  /** Canonical CIDRs and kube-proxy's keywords (nodeport_addresses.ts)
   *  selecting the addresses that serve NodePorts; empty: all of them. */
  nodePortAddresses: string[];
  /** --bpf-lb-mode (forwarding_mode.ts). */
  lbMode: LbMode;
  /** --bpf-lb-algorithm (lb_algorithm.ts). */
  lbAlgorithm: LbAlgorithm;
  /** --bpf-lb-source-range-all-types (source_ranges.ts). */
  lbSourceRangeAllTypes: boolean;
  /** --bpf-lb-external-clusterip: the edge LB serves ClusterIPs too, to
   *  clients that route them to the node (service_types/clusterip.ts). */
  externalClusterIP: boolean;
  /** NodePorts on 127.0.0.1 and ::1 for the node's own processes
   *  (--iptables-localhost-nodeports, nodeport_addresses.ts). */
  localhostNodePorts: boolean;
  /** The per-packet path at the pods' interfaces is on: the desired state
   *  carries its view (pod_frontends.ts). */
  podPath: boolean;
}
