// Runs the agent (bin/kpr run) for a test or benchmark, returning once it has
// logged "kpr: ready" (after the log line's timestamp and level).
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { LineProcess } from './line_process';

export interface AgentOptions {
  /** Directory of Service / EndpointSlice manifests (standalone mode)... */
  manifests?: string;
  /** ...or the kubeconfig of an API server (Kubernetes mode). */
  kubeconfig?: string;
  bpfRoot: string;
  /** The test cgroup: only its processes are load balanced. */
  cgroupRoot: string;
  /** Further flags, e.g. ['--lb-mode', 'dsr']. */
  args?: string[];
  readyTimeoutMs?: number;
}

const READY = /(^|\s)kpr: ready/;
const DEFAULT_READY_TIMEOUT_MS = 30_000;

export async function startAgent(opts: AgentOptions): Promise<LineProcess> {
  const source = opts.kubeconfig ? ['--kubeconfig', opts.kubeconfig] : ['--manifests', opts.manifests ?? ''];
  const args = ['run', ...source, '--bpf-root', opts.bpfRoot, '--cgroup-root', opts.cgroupRoot];
  const agent = new LineProcess('kpr agent', path.join(repoRoot(), 'bin', 'kpr'), [...args, ...(opts.args ?? [])], repoRoot());
  try {
    await agent.waitForLine('"kpr: ready"', (line) => READY.test(line), opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  } catch (e) {
    await agent.stop('SIGKILL');
    throw e;
  }
  return agent;
}
