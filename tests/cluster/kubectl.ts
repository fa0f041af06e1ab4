// kubectl as make cluster's admin: the pinned build, the cluster's admin
// credentials, never whatever kubeconfig the environment points at, and a
// discovery cache that make cluster-down removes with the rest.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { kubeTool, stateDir } from './layout';
import { ClusterPki } from './pki';

export type Kubectl = (args: string[], input?: string) => string;

export function kubectlFor(pki: ClusterPki): Kubectl {
  return (args, input) => {
    try {
      return execFileSync(kubeTool('kubectl'), [`--kubeconfig=${pki.kubeconfigs.admin}`, `--cache-dir=${path.join(stateDir(), 'kubectl-cache')}`, ...args], {
        encoding: 'utf8',
        input,
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: 60_000,
      });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`kubectl ${args.join(' ')}: ${(err.stderr ?? '').trim() || err.message}`);
    }
  };
}
