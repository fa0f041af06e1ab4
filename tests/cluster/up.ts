// make cluster: a two-node Kubernetes cluster on this machine without
// kube-proxy (docs/cluster.md). Starts whatever is not running yet, so a second
// run only checks; prints the admin kubeconfig's path as its last line.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { cgroupMounts, ensureCgroupRoot } from './cgroups';
import { controlPlaneUp } from './control_plane';
import { coreDnsUp } from './coredns';
import { daemonPid, startDaemon } from './daemon';
import { hostNetUp } from './host_net';
import { importImages, waitContainerd } from './images';
import { kubectlFor } from './kubectl';
import { say } from './log';
import { ADMIN_KUBECONFIG, LB_POOL, LB_PROVIDER, NODES, kubeTool, stateDir } from './layout';
import { nodeUp } from './node';
import { checkPodsRun, waitNodesReady } from './nodes_ready';
import { clusterPki } from './pki';

const HOST_TOOLS = ['containerd', 'containerd-shim-runc-v2', 'runc', 'ctr', 'nsenter', 'unshare', 'ip', 'iptables', '/usr/lib/cni/bridge'];
const KUBE_TOOLS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kubectl', 'coredns'];

function preflight(): void {
  if (process.getuid?.() !== 0) throw new Error('make cluster needs root (namespaces, cgroups, mounts)');
  const missing = HOST_TOOLS.filter((t) => {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
      return false;
    } catch {
      return true;
    }
  });
  missing.push(...KUBE_TOOLS.map(kubeTool).filter((f) => !fs.existsSync(f)));
  if (missing.length) throw new Error(`missing: ${missing.join(', ')} (make cluster installs them: make cluster-apt-deps kube-bin cluster-bin)`);
  if (cgroupMounts().length === 0) throw new Error('no cgroup mounts in /proc/self/mountinfo');
}

function publishKubeconfig(adminKubeconfig: string): void {
  const dir = path.dirname(ADMIN_KUBECONFIG);
  if (!fs.existsSync(dir)) {
    fs.writeFileSync(path.join(stateDir(), 'made-dot-kube'), '');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  fs.copyFileSync(adminKubeconfig, ADMIN_KUBECONFIG);
  fs.chmodSync(ADMIN_KUBECONFIG, 0o600);
}

function lbProviderUp(): void {
  if (daemonPid(LB_PROVIDER) !== undefined) return;
  say('starting the LoadBalancer provider (ingress IPs from ' + LB_POOL + ')');
  startDaemon(LB_PROVIDER, process.execPath, [path.join(__dirname, 'lb_provider.js'), '--state', stateDir()]);
}

/** Starts whatever is not running; returns the admin kubeconfig's path. */
export async function clusterUp(): Promise<string> {
  preflight();
  fs.mkdirSync(stateDir(), { recursive: true, mode: 0o700 });
  say(`state in ${stateDir()}`);
  const pki = clusterPki();
  const kubectl = kubectlFor(pki);
  hostNetUp();
  for (const node of NODES) ensureCgroupRoot(node.name);
  await controlPlaneUp(pki);
  await coreDnsUp(pki, kubectl);
  lbProviderUp();
  for (const node of NODES) await nodeUp(node, pki, waitContainerd);
  for (const node of NODES) importImages(node);
  await waitNodesReady(kubectl);
  await checkPodsRun(kubectl);
  publishKubeconfig(pki.kubeconfigs.admin);
  return ADMIN_KUBECONFIG;
}

async function main(): Promise<void> {
  const kubeconfig = await clusterUp();
  say('ready; kubectl --kubeconfig below (make cluster-down removes it all)');
  console.log(kubeconfig);
}

if (require.main === module) main().catch((e: Error) => {
  console.error(`cluster: ${e.message}`);
  console.error('cluster: logs are in ' + path.join(stateDir(), 'logs') + '; make cluster-down removes what was started');
  process.exit(1);
});
