// A "node" network namespace for a proxy under benchmark: the Node's address
// local to it (on lo: these kernels have no dummy device), and the API
// server, which listens on the host's loopback, reachable on the namespace's
// own 127.0.0.1 through netns_relay.ts, with a kubeconfig that points there.
import * as fs from 'fs';
import * as path from 'path';
import { Cluster } from '../e2e/cluster';
import { onExit } from '../helpers/exit_cleanup';
import { removeNamespace } from '../helpers/netns';
import { newName } from '../helpers/naming';
import { ip, run } from '../helpers/run';
import { createTestDir, TestDir } from '../helpers/test_dir';
import { NODE_ADDRESS } from './control_plane_objects';
import { NetnsRelay, startNetnsRelay } from './netns_relay';

/** On the namespace's own loopback: nothing else listens there. */
const API_PORT = 6443;
const SCRAPE_TIMEOUT_S = 10;

export interface NodeNamespace {
  netns: string;
  /** Files of whatever runs on the node (its config, logs). */
  dir: TestDir;
  kubeconfig: string;
  /** Removes the namespace, relay and files; idempotent. */
  destroy(): Promise<void>;
}

export async function createNodeNamespace(cluster: Cluster, prefix: string): Promise<NodeNamespace> {
  const netns = newName(prefix);
  let dir: TestDir | undefined;
  let relay: NetnsRelay | undefined;
  let destroyed = false;
  const unregister = onExit(() => removeNamespace(netns));
  const destroy = async () => {
    if (destroyed) return;
    destroyed = true;
    await relay?.stop();
    removeNamespace(netns);
    unregister();
    dir?.destroy();
  };
  try {
    ip('netns', 'add', netns);
    ip('-n', netns, 'link', 'set', 'lo', 'up');
    ip('-n', netns, 'addr', 'add', `${NODE_ADDRESS}/32`, 'dev', 'lo');
    dir = createTestDir(prefix);
    const url = new URL(cluster.server);
    relay = await startNetnsRelay(netns, { host: url.hostname, port: Number(url.port) }, path.join(dir.path, 'api.sock'), API_PORT);
    const kubeconfig = path.join(dir.path, 'kubeconfig');
    fs.writeFileSync(kubeconfig, fs.readFileSync(cluster.kubeconfig, 'utf8').replace(cluster.server, `https://127.0.0.1:${API_PORT}`), { mode: 0o600 });
    return { netns, dir, kubeconfig, destroy };
  } catch (e) {
    await destroy();
    throw e;
  }
}

/** A /metrics page served on a node namespace's own loopback, read inside it. */
export function scrapeInNamespace(netns: string, port: number): string {
  return run('nsenter', [`--net=/run/netns/${netns}`, 'curl', '-sf', '-m', String(SCRAPE_TIMEOUT_S), `http://127.0.0.1:${port}/metrics`]);
}
