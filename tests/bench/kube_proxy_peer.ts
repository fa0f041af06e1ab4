// Real kube-proxy (the binary built beside the e2e API server) as the
// benchmark's peer, in iptables (nft or legacy backend) or nftables mode, in a "node" network
// namespace of its own (node_namespace.ts) so that its rules never touch the
// host's. It reaches the API server through that namespace's relay, and serves
// its metrics on the namespace's loopback, scraped there with curl.
//
// Its configuration matches the kpr agent's in the control-plane benchmark:
// hostnameOverride names the Node the benchmark creates, minSyncPeriod 0s
// (unless a benchmark asks for another);
// clusterCIDR 198.18.0.0/16 (the endpoints' range) for its masquerade rules;
// conntrack sizes and timeouts 0, which leaves the kernel's as they are.
import * as fs from 'fs';
import * as path from 'path';
import { Cluster, kubeBinary } from '../e2e/cluster';
import { LineProcess } from '../helpers/line_process';
import { NODE_NAME } from './control_plane_objects';
import { configMode, iptablesEnv, ProxyMode } from './kube_proxy_rules';
import { createNodeNamespace, scrapeInNamespace } from './node_namespace';

/** Ports on the node namespace's own loopback: nothing else listens there. */
const METRICS_PORT = 10249;
const HEALTHZ_PORT = 10256;

export interface KubeProxyPeer {
  mode: ProxyMode;
  netns: string;
  proc: LineProcess;
  pid: number;
  /** performance.now() when it was started. */
  startedAt: number;
  /** Its /metrics, read inside its namespace. */
  scrape(): string;
  /** Stops it and removes its namespace, relay and files; idempotent. */
  stop(): Promise<void>;
}

function configYaml(mode: ProxyMode, kubeconfig: string, minSyncPeriod: string): string {
  return [
    'apiVersion: kubeproxy.config.k8s.io/v1alpha1',
    'kind: KubeProxyConfiguration',
    `mode: ${configMode(mode)}`,
    'clientConnection:',
    `  kubeconfig: ${kubeconfig}`,
    `hostnameOverride: ${NODE_NAME}`,
    'clusterCIDR: 198.18.0.0/16',
    `metricsBindAddress: 127.0.0.1:${METRICS_PORT}`,
    `healthzBindAddress: 127.0.0.1:${HEALTHZ_PORT}`,
    'iptables:',
    `  minSyncPeriod: ${minSyncPeriod}`,
    'nftables:',
    `  minSyncPeriod: ${minSyncPeriod}`,
    'conntrack:',
    '  maxPerCore: 0',
    '  tcpEstablishedTimeout: 0s',
    '  tcpCloseWaitTimeout: 0s',
    '',
  ].join('\n');
}

/** Starts kube-proxy on a fresh node namespace; returns at once (it programs in the background).
 *  minSyncPeriod: 0s unless given (every change synced at once, as kpr's peer is set). */
export async function startKubeProxy(cluster: Cluster, mode: ProxyMode, minSyncPeriod = '0s'): Promise<KubeProxyPeer> {
  const node = await createNodeNamespace(cluster, `bench-kp-${mode}`);
  const netns = node.netns;
  let proc: LineProcess | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await proc?.stop();
    await node.destroy();
  };
  try {
    const config = path.join(node.dir.path, 'config.yaml');
    fs.writeFileSync(config, configYaml(mode, node.kubeconfig, minSyncPeriod));
    const startedAt = performance.now();
    proc = new LineProcess(`kube-proxy ${mode} in ${netns}`, 'nsenter', [`--net=/run/netns/${netns}`, kubeBinary('kube-proxy'), '--config', config], undefined, iptablesEnv(mode));
    const pid = proc.pid;
    if (pid === undefined) throw new Error(`kube-proxy did not start: ${proc.logTail()}`);
    const scrape = () => scrapeInNamespace(netns, METRICS_PORT);
    return { mode, netns, proc, pid, startedAt, scrape, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** kube-proxy's label of its IPv4 series (it runs an IPv6 proxier beside it). */
export const IPV4_SERIES = 'ip_family="IPv4"';

/** A gauge or counter of one family's series (IPv4 by default) from kube-proxy's metrics; undefined when absent. */
export function metricValue(text: string, name: string, family: 'IPv4' | 'IPv6' = 'IPv4'): number | undefined {
  const series = family === 'IPv4' ? IPV4_SERIES : 'ip_family="IPv6"';
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${series}} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}
