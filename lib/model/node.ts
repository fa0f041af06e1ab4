// What the model needs to know about the node it programs: its name (for
// local endpoints and node hints), its labels (zone), and its addresses
// (NodePort frontends). Filled from the Node object in Kubernetes mode and
// from the manifest or the local interfaces in standalone mode.
import { LbMode } from './forwarding_mode';
import { LbAlgorithm } from './lb_algorithm';

export interface NodeContext {
  name: string;
  labels: Record<string, string>;
  /** Canonical IP addresses of the node, both families. */
  addresses: string[];
}

/** The settings the model applies: kube-proxy's (KubeProxyConfiguration
 *  names) and the edge LB's defaults (Cilium's flag names). */
export interface ModelConfig {
  /** CIDRs whose node addresses serve NodePorts; empty: every node address. */
  nodePortAddresses: string[];
  /** --bpf-lb-mode (forwarding_mode.ts). */
  lbMode: LbMode;
  /** --bpf-lb-algorithm (lb_algorithm.ts). */
  lbAlgorithm: LbAlgorithm;
  /** --bpf-lb-source-range-all-types (source_ranges.ts). */
  lbSourceRangeAllTypes: boolean;
}
