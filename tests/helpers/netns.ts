// Network namespaces by name, as `ip netns` keeps them under /run/netns.
import * as fs from 'fs';
import { ip } from './run';

const NETNS_DIR = '/run/netns';

export function listNamespaces(): string[] {
  return fs.existsSync(NETNS_DIR) ? fs.readdirSync(NETNS_DIR) : [];
}

/** Kills every process inside ns (servers, clients), then deletes it; a no-op once it is gone. */
export function removeNamespace(ns: string): void {
  if (!listNamespaces().includes(ns)) return;
  // A deleted namespace lives on while a process is inside it, and so would its veths.
  for (const pid of ip('netns', 'pids', ns).split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  ip('netns', 'del', ns);
}
