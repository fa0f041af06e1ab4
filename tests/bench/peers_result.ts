// One proxy's figures at one scale in the peers benchmark (peers.ts).
import { Histogram } from './control_plane_metrics';
import { CpuSeconds } from './proc_cpu';

export type ProxyName = 'kpr' | 'kube-proxy iptables' | 'kube-proxy iptables-legacy' | 'kube-proxy nftables';

export interface ProxyResult {
  proxy: ProxyName;
  services: number;
  /** Start to everything programmed: kpr's "ready" (checked in its maps);
   *  kube-proxy's first ruleset dump holding every service and endpoint. */
  coldStartMs: number;
  /** kube-proxy: start to the end of its last sync before that, by its
   *  kubeproxy_sync_proxy_rules_last_timestamp_seconds. */
  coldStartByMetricMs?: number;
  cpuAtProgrammed: CpuSeconds;
  /** Over the whole run: cold start and the changes. */
  cpuTotal: CpuSeconds;
  /** VmHWM at the end of the run. */
  peakRssMB: number;
  /** Milliseconds from before the API write to the change being programmed. */
  latencies: number[];
  /** How the change was seen programmed. */
  latencyBy: string;
  /** The proxy's kubeproxy_network_programming_duration_seconds over the changes. */
  programming?: Histogram;
  failures: string[];
}

/** The endpoints each service has in the API server; the changes update it. */
export interface Population {
  clusterIPs: string[];
  endpoints: string[][];
}
