// What the agent runs with: every setting of `kpr run`, from its flags and
// the kube-proxy configuration file (cli/run_config.ts builds it).
import type { ConntrackSettings } from './host/conntrack_sysctls';
import type { PodInterfaceChoice } from './host/pod_interfaces';
import type { BindAddress } from './bind_address';
import type { XdpAcceleration } from './datapath/edge/attach';
import type { FlowTimeouts, PortRange } from './datapath/native';
import type { LogLevel } from './log';
import type { LbMode } from './model/forwarding_mode';
import type { LbAlgorithm } from './model/lb_algorithm';

export const NO_BACKEND_RESPONSES = ['reject', 'drop'] as const;
export type NoBackendResponse = (typeof NO_BACKEND_RESPONSES)[number];

/** Where the objects come from. */
export type SourceConfig =
  | { kind: 'manifests'; path: string }
  | {
      kind: 'kubernetes';
      /** undefined: in-cluster */
      kubeconfig?: string;
      /** --k8s-api-server, as a URL; undefined: the kubeconfig's server, or in-cluster the environment's. */
      apiServer?: string;
    };

export interface RunConfig {
  source: SourceConfig;
  /** undefined: NODE_NAME, else the host name. */
  hostnameOverride?: string;
  /** --service-proxy-name; undefined: the Services that name no proxy (kubernetes_filters.ts). */
  serviceProxyName?: string;
  /** Canonical CIDRs and keywords (model/nodeport_addresses.ts); empty: all addresses. */
  nodePortAddresses: string[];
  /** --iptables-localhost-nodeports (model/nodeport_addresses.ts). */
  localhostNodePorts: boolean;
  minSyncPeriodMs: number;
  syncPeriodMs: number;
  /** undefined: off. */
  metrics?: BindAddress;
  healthz?: BindAddress;
  /** kpr_* traffic counters per service port besides the totals. */
  metricsPerService: boolean;
  /** The no-local-endpoints gauge under kube-proxy's own (promtool-rejected) name. */
  metricsKubeProxyTotalGauge: boolean;
  /** A server that cannot bind stops the agent instead of being logged. */
  bindAddressHardFail: boolean;
  /** Settings of the config file that kpr does not apply. */
  configWarnings: string[];
  bpfRoot: string;
  /** undefined: find the node's cgroup v2 mount. */
  cgroupRoot?: string;
  /** --procfs: the node's procfs (host/conntrack_sysctls.ts). */
  procfs: string;
  /** undefined: the installation's bpf/. */
  bpfObjectDir?: string;
  lbMapMax: number;
  revNatMapMax: number;
  /** kpr_edge_fragments (Cilium: --bpf-fragments-map-max). */
  fragmentsMapMax: number;
  lbMode: LbMode;
  lbAlgorithm: LbAlgorithm;
  /** One of MAGLEV_TABLE_SIZES. */
  maglevTableSize: number;
  /** Unsigned 32-bit (parseMaglevSeed). */
  maglevSeed: number;
  /** loadBalancerSourceRanges guard NodePorts and external IPs too. */
  lbSourceRangeAllTypes: boolean;
  /** The edge LB serves ClusterIPs to routed clients too. */
  externalClusterIP: boolean;
  noBackendResponse: NoBackendResponse;
  acceleration: XdpAcceleration;
  /** undefined: the interfaces holding this node's addresses. */
  devices?: string[];
  /** --bpf-lb-sock-hostns-only: the socket LB translates only in the node's own network namespace. */
  sockHostnsOnly: boolean;
  /** Where the per-packet path goes; undefined: nowhere. */
  podInterfaces?: PodInterfaceChoice;
  /** undefined: defaultSnatPorts of the node's local port range. */
  snatPorts?: PortRange[];
  flowTimeouts: FlowTimeouts;
  /** The node's nf_conntrack settings to apply at start (host/conntrack_sysctls.ts). */
  conntrack: ConntrackSettings;
  gcIntervalMs: number;
  logLevel: LogLevel;
}
