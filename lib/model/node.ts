// What the model needs to know about the node it programs: its name (for
// local endpoints and node hints), its labels (zone), and its addresses
// (NodePort frontends). Filled from the Node object in Kubernetes mode and
// from the manifest or the local interfaces in standalone mode.

export interface NodeContext {
  name: string;
  labels: Record<string, string>;
  /** Canonical IP addresses of the node, both families. */
  addresses: string[];
}

/** The kube-proxy settings the model applies (KubeProxyConfiguration names). */
export interface ModelConfig {
  /** CIDRs whose node addresses serve NodePorts; empty: every node address. */
  nodePortAddresses: string[];
}
