// A pod's network namespace, found by its address: the socket-LB bypass
// names namespaces by cookie (bpf_get_netns_cookie), and the API names a
// pod by its addresses. Every namespace on the node is a candidate: the
// runtimes' named ones (/run/netns: containerd's cni-*, ip netns) and those
// of every process (a sandbox's). Each is read once (its cookie and
// addresses, netnsInfo) and kept by its inode while it exists.
import * as fs from 'fs';
import { canonicalAddr } from '../model/ip_address';
import { networkNamespaces } from './netns';

export interface NetnsReading {
  path: string;
  cookie?: string;
  addresses?: string[];
  error?: string;
}

export type ReadNetns = (paths: string[]) => NetnsReading[];

/** Named namespaces, then one path per namespace of a process. */
export function candidateNamespaces(runNetns = '/run/netns', proc = '/proc'): string[] {
  let named: string[] = [];
  try {
    named = fs.readdirSync(runNetns).map((n) => `${runNetns}/${n}`);
  } catch {
    // No named namespaces on this node.
  }
  return [...named, ...networkNamespaces(proc)];
}

const identity = (path: string): string | undefined => {
  try {
    const st = fs.statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
};

export class PodNetns {
  /** What each namespace (by device and inode) held when read. */
  private readonly known = new Map<string, { cookie: string; addresses: string[] }>();

  constructor(
    private readonly read: ReadNetns,
    private readonly candidates: () => string[] = candidateNamespaces,
  ) {}

  /** The cookie of the namespace holding each address; an address no
   *  namespace holds (a pod not yet started, or gone) is missing. */
  cookies(addresses: string[]): Map<string, string> {
    const wanted = new Set(addresses.map(canonicalAddr));
    const out = new Map<string, string>();
    if (wanted.size === 0) return out;
    const seen = new Set<string>();
    const unread: { id: string; path: string }[] = [];
    for (const path of this.candidates()) {
      const id = identity(path);
      if (!id || seen.has(id)) continue;
      seen.add(id);
      if (!this.known.has(id)) unread.push({ id, path });
    }
    // Namespaces gone since: their inode may come back for another.
    for (const id of this.known.keys()) if (!seen.has(id)) this.known.delete(id);
    const readings = unread.length > 0 ? this.read(unread.map((u) => u.path)) : [];
    readings.forEach((r, i) => {
      if (r.cookie !== undefined) this.known.set(unread[i].id, { cookie: r.cookie, addresses: (r.addresses ?? []).map(canonicalAddr) });
    });
    for (const { cookie, addresses: held } of this.known.values()) for (const a of held) if (wanted.has(a)) out.set(a, cookie);
    return out;
  }
}
