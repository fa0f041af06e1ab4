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

/** A device of a namespace as `ip -s -j link` shows it. */
export interface LinkView {
  ifname: string;
  /** The id of its XDP program, if it has one. */
  xdpProgram?: number;
  /** Frames it could not hand on (a veth whose peer's ring was full) and could not take in (a full backlog). */
  txDropped: number;
  rxDropped: number;
}

/** Every device of ns, or only dev. */
export function links(ns: string, dev?: string): LinkView[] {
  type Shown = { ifname: string; xdp?: { prog?: { id: number } }; stats64?: { tx: { dropped: number }; rx: { dropped: number } } };
  const shown = JSON.parse(ip('-n', ns, '-s', '-j', 'link', 'show', ...(dev ? ['dev', dev] : []))) as Shown[];
  return shown.map((l) => ({ ifname: l.ifname, xdpProgram: l.xdp?.prog?.id, txDropped: l.stats64?.tx.dropped ?? 0, rxDropped: l.stats64?.rx.dropped ?? 0 }));
}

/** The id of the XDP program on dev in ns, if any. */
export const xdpProgramId = (ns: string, dev: string): number | undefined => links(ns, dev)[0].xdpProgram;
