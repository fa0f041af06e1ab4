// The two service proxies make conformance judges on the same cluster: kpr,
// installed as an operator would (its image, `helm install` of charts/kpr),
// and upstream kube-proxy in nftables mode (kube-proxy.yaml), the baseline.
// Both reach the API server by its address, since no proxy programs the
// kubernetes Service before them, and both carry k8s-app=kube-proxy, the
// label upstream's "restart kube-proxy" test looks for.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { sleep } from '../helpers/sleep';
import { REPO_ROOT, kubeVersions } from '../e2e/cluster';
import { Kubectl } from './kubectl';
import { say } from './log';
import { API_PORT, HOST_IP, NODE_CGROUP2, NODES, POD_SUPERNETS } from './layout';

export type ProxyName = 'kpr' | 'kube-proxy';

export interface Proxy {
  name: ProxyName;
  install(): void;
  uninstall(): void;
  /** Is this command line (argv) one of the proxy's agents? */
  isAgent(argv: string[]): boolean;
}

const NAMESPACE = 'kube-system';
const READY_TIMEOUT_MS = 180_000;

function helmPath(): string {
  return execFileSync(path.join(REPO_ROOT, 'scripts', 'build-tools.sh'), ['--bin', 'helm'], { encoding: 'utf8' }).trim();
}

/** helm as make cluster's admin, in kube-system. */
export function helmFor(kubeconfig: string): (args: string[]) => string {
  return (args) =>
    execFileSync(helmPath(), [`--kubeconfig=${kubeconfig}`, `--namespace=${NAMESPACE}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: READY_TIMEOUT_MS + 30_000 });
}

/** The chart's values on make cluster, as --set flags. */
export const KPR_CLUSTER_VALUES = [
  `--set=k8sServiceHost=${HOST_IP}`,
  `--set=k8sServicePort=${API_PORT}`,
  '--set=podLabels.k8s-app=kube-proxy',
  // The nodes' own bpffs is mounted where kpr pins (make cluster), and
  // each node's cgroup2 subtree, which holds its pods, is at NODE_CGROUP2.
  '--set=bpf.mountBpffs=false',
  `--set=cgroup.hostRoot=${NODE_CGROUP2}`,
];

function kprProxy(kubeconfig: string): Proxy {
  const helm = helmFor(kubeconfig);
  return {
    name: 'kpr',
    install() {
      say('installing kpr: helm install of charts/kpr');
      helm(['upgrade', '--install', 'kpr', path.join(REPO_ROOT, 'charts', 'kpr'), ...KPR_CLUSTER_VALUES]);
    },
    uninstall() {
      say('removing kpr: helm uninstall');
      helm(['uninstall', 'kpr', '--wait']);
    },
    isAgent: (argv) => argv.some((a) => a.endsWith('/kpr') || a.endsWith('/cli.js')) && argv.includes('run'),
  };
}

export type KubeProxyMode = 'nftables' | 'iptables';

/** kube-proxy.yaml for make cluster, in mode. */
export function kubeProxyManifest(mode: KubeProxyMode): string {
  return fs
    .readFileSync(path.join(REPO_ROOT, 'tests', 'cluster', 'kube-proxy.yaml'), 'utf8')
    .replace(/\$\{(\w+)\}/g, (_, key: string) => {
      const values: Record<string, string> = {
        POD_SUPERNETS: POD_SUPERNETS.join(','),
        IMAGE: `registry.k8s.io/kube-proxy:${kubeVersions().KUBE_VERSION}`,
        API_HOST: HOST_IP,
        API_PORT: String(API_PORT),
        MODE: mode,
      };
      if (!(key in values)) throw new Error(`kube-proxy.yaml: no value for \${${key}}`);
      return values[key];
    });
}

function kubeProxy(kubectl: Kubectl): Proxy {
  const manifest = () => kubeProxyManifest('nftables');
  return {
    name: 'kube-proxy',
    install() {
      say('installing kube-proxy (nftables mode)');
      kubectl(['apply', '-f', '-'], manifest());
    },
    uninstall() {
      say('removing kube-proxy');
      kubectl(['delete', '--wait', '--ignore-not-found', '-f', '-'], manifest());
    },
    isAgent: (argv) => path.basename(argv[0] ?? '') === 'kube-proxy',
  };
}

export function proxyByName(name: ProxyName, kubeconfig: string, kubectl: Kubectl): Proxy {
  return name === 'kpr' ? kprProxy(kubeconfig) : kubeProxy(kubectl);
}

/** Until the proxy's DaemonSet runs a Ready pod on every node. */
export async function waitProxyReady(kubectl: Kubectl): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let seen = '';
  while (Date.now() < deadline) {
    const pods = JSON.parse(kubectl(['get', 'pods', `--namespace=${NAMESPACE}`, '--selector=k8s-app=kube-proxy', '--output=json'])) as {
      items: { spec: { nodeName?: string }; status: { conditions?: { type: string; status: string }[] } }[];
    };
    const ready = pods.items.filter((p) => p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((p) => p.spec.nodeName);
    seen = `${ready.length} of ${NODES.length} nodes ready`;
    if (NODES.every((n) => ready.includes(n.name))) return;
    await sleep(2000);
  }
  throw new Error(`the proxy's pods (k8s-app=kube-proxy in ${NAMESPACE}) not ready after ${READY_TIMEOUT_MS / 1000} s: ${seen}`);
}
