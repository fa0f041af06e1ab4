// Runs the agent (bin/kpr run) for a test or benchmark, returning once it has
// logged "kpr: ready" (after the log line's timestamp and level).
import * as os from 'os';
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { BpfRoot, createBpfRoot } from './bpf_root';
import { createTestCgroup, TestCgroup } from './cgroup';
import { EdgeNode } from './edge_topology';
import { LineProcess } from './line_process';

export interface AgentOptions {
  /** Directory of Service / EndpointSlice manifests (standalone mode)... */
  manifests?: string;
  /** ...or the kubeconfig of an API server (Kubernetes mode)... */
  kubeconfig?: string;
  /** ...or neither: in-cluster, the service account of a pod (wrapper makes one). */
  inCluster?: boolean;
  bpfRoot: string;
  /** The test cgroup: only its processes are load balanced. */
  cgroupRoot: string;
  /** Further flags, e.g. ['--lb-mode', 'dsr']. */
  args?: string[];
  /** A network namespace (/run/netns name) to run in, as the agent of that
   *  node. nsenter, not `ip netns exec`: that one remounts /sys, and the
   *  agent needs the cgroup filesystem under it. */
  netns?: string;
  /** A command the agent runs under, e.g. setpriv with fewer capabilities. */
  wrapper?: string[];
  readyTimeoutMs?: number;
}

const READY = /(^|\s)kpr: ready/;
const DEFAULT_READY_TIMEOUT_MS = 30_000;

/** Outside a test namespace the edge LB would attach to the machine's own
 *  devices (those holding its addresses): tests leave them alone unless
 *  they name devices or the acceleration themselves. */
function edgeArgs(opts: AgentOptions): string[] {
  const chosen = (opts.args ?? []).some((a) => /^--(bpf-lb-acceleration|devices)(=|$)/.test(a));
  return opts.netns || chosen ? [] : ['--bpf-lb-acceleration', 'disabled'];
}

/** Likewise the machine's own conntrack settings, which a Kubernetes-mode
 *  agent sets to kube-proxy's: outside a test namespace it is pointed at a
 *  procfs that is not there (nothing to set), unless the test names one. */
function procfsArgs(opts: AgentOptions): string[] {
  const chosen = (opts.args ?? []).some((a) => /^--procfs(=|$)/.test(a));
  return opts.netns || chosen ? [] : ['--procfs', path.join(os.tmpdir(), 'kpr-tests-no-procfs')];
}

export async function startAgent(opts: AgentOptions): Promise<LineProcess> {
  const source = opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : opts.inCluster ? [] : ['--manifests', opts.manifests ?? ''];
  const args = ['run', ...source, '--bpf-root', opts.bpfRoot, '--cgroup-root', opts.cgroupRoot, ...edgeArgs(opts), ...procfsArgs(opts)];
  const kpr = [...(opts.wrapper ?? []), path.join(repoRoot(), 'bin', 'kpr'), ...args, ...(opts.args ?? [])];
  const [cmd, ...argv] = opts.netns ? ['nsenter', `--net=/run/netns/${opts.netns}`, ...kpr] : kpr;
  const agent = new LineProcess(opts.netns ? `kpr agent in ${opts.netns}` : 'kpr agent', cmd, argv, repoRoot());
  try {
    await agent.waitForLine('"kpr: ready"', (line) => READY.test(line), opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  } catch (e) {
    await agent.stop('SIGKILL');
    throw e;
  }
  return agent;
}

/** The agent of one node of an edge topology (edge_topology.ts), standalone
 *  on manifests, in the node's namespace and on its device, with a bpf root
 *  and a test cgroup of its own, which stop() removes with it. */
export interface EdgeNodeAgent {
  process: LineProcess;
  root: BpfRoot;
  cgroup: TestCgroup;
  stop(): Promise<void>;
}

export async function startEdgeNodeAgent(node: EdgeNode, manifests: string, args: string[] = [], wrapper?: string[]): Promise<EdgeNodeAgent> {
  const root = createBpfRoot(`edge-${node.name}`);
  const cgroup = createTestCgroup(`edge-${node.name}`);
  const remove = () => {
    root.destroy();
    cgroup.destroy();
  };
  try {
    const process = await startAgent({
      manifests,
      bpfRoot: root.path,
      cgroupRoot: cgroup.path,
      netns: node.ns,
      args: ['--hostname-override', node.name, '--devices', node.device, ...args],
      wrapper,
    });
    return {
      process,
      root,
      cgroup,
      async stop() {
        await process.stop();
        remove();
      },
    };
  } catch (e) {
    remove();
    throw e;
  }
}
