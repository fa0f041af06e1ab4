// The proxy states cluster tests start from on make cluster, reached from
// whatever state the cluster is in: kube-proxy in a mode and no kpr, or kpr
// installed by its chart and no kube-proxy; and each proxy's own cleanup on
// the nodes (the chart README's commands). make day2 and the pod benchmark
// switch between them.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { REPO_ROOT } from '../e2e/cluster';
import { daemonPid } from './daemon';
import { kubectlFor } from './kubectl';
import { NODES, NodeLayout, kubeTool } from './layout';
import { containerdName } from './node';
import { clusterPki } from './pki';
import { KubeProxyMode, Proxy, helmFor, kubeProxyManifest, proxyByName } from './proxies';

const ROLLOUT_TIMEOUT = '50s';
const kubectl = kubectlFor(clusterPki());

/** A command in a node's mount and network namespaces, as root on the node. */
export function onNode(node: NodeLayout, argv: string[]): string {
  const pid = daemonPid(containerdName(node));
  if (pid === undefined) throw new Error(`${node.name} is not running (make cluster)`);
  return execFileSync('nsenter', ['-t', String(pid), '-m', '-n', '--', ...argv], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

/** What each proxy's own cleanup takes away on a node (the chart README's commands). */
export const kubeProxyCleanup = (node: NodeLayout) => onNode(node, [kubeTool('kube-proxy'), '--cleanup']);
export const kprCleanup = (node: NodeLayout) => onNode(node, [path.join(REPO_ROOT, 'bin', 'kpr'), 'cleanup', '--bpf-root', '/sys/fs/bpf']);

export const rollout = (ds: string) => kubectl(['-n', 'kube-system', 'rollout', 'status', `ds/${ds}`, `--timeout=${ROLLOUT_TIMEOUT}`]);
export const exists = (kind: string, name: string) => kubectl(['-n', 'kube-system', 'get', kind, name, '--ignore-not-found', '-o', 'name']).trim() !== '';

export class ProxyStates {
  readonly helm: (args: string[]) => string;
  readonly kpr: Proxy;

  constructor(kubeconfig: string) {
    this.helm = helmFor(kubeconfig);
    this.kpr = proxyByName('kpr', kubeconfig, kubectl);
  }

  /** kube-proxy in mode serving, and no kpr anywhere (not installed, nothing left on the nodes). */
  async kubeProxyServing(mode: KubeProxyMode): Promise<void> {
    if (exists('ds', 'kpr')) this.helm(['uninstall', 'kpr', '--wait']);
    for (const node of NODES) kprCleanup(node);
    const manifest = kubeProxyManifest(mode);
    const current = exists('cm', 'kube-proxy') ? kubectl(['-n', 'kube-system', 'get', 'cm', 'kube-proxy', '-o', 'jsonpath={.data.config\\.conf}']) : '';
    kubectl(['apply', '-f', '-'], manifest);
    // A new mode needs new pods; kube-proxy clears the other mode's rules when it starts.
    if (exists('ds', 'kube-proxy') && !current.includes(`mode: ${mode}`)) kubectl(['-n', 'kube-system', 'rollout', 'restart', 'ds/kube-proxy']);
    rollout('kube-proxy');
  }

  /** kpr installed by its chart and ready, no kube-proxy. */
  async kprServing(): Promise<void> {
    if (exists('ds', 'kube-proxy')) {
      kubectl(['delete', '--wait', '--ignore-not-found', '-f', '-'], kubeProxyManifest('nftables'));
      for (const node of NODES) kubeProxyCleanup(node);
    }
    this.kpr.install();
    rollout('kpr');
  }
}
