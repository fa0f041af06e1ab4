// Keeps the next hop towards every remote backend node resolved. The edge LB
// forwards a DSR tunnel or an snat packet with bpf_fib_lookup, which reads
// the neighbour table but cannot fill it: towards a node this one never
// talked to, every packet would be dropped as fib_lookup_failed. A managed
// neighbour entry (Linux 5.16+) is resolved by the kernel at once and kept
// fresh while it exists, as Cilium's neighbour discovery does.
import { execFileSync } from 'child_process';
import { Logger } from '../log';

export interface Nexthop {
  addr: string;
  dev: string;
}

/** The commands this needs, as a seam for tests. */
export interface NeighbourTable {
  /** Where packets to addr go: the gateway, or addr itself on a link. */
  nexthop(addr: string): Nexthop;
  manage(hop: Nexthop): void;
  forget(hop: Nexthop): void;
}

const ip = (args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The entries kpr made (managed and externally learned), IPv4 and IPv6, of
 *  this namespace: what `kpr cleanup` takes away. */
export function managedNeighbours(): Nexthop[] {
  // Without a family `ip neigh show` lists both: one listing, or an IPv6
  // entry would be deleted twice (and the second delete fail).
  const rows = JSON.parse(ip(['-j', 'neigh', 'show'])) as Record<string, unknown>[];
  return rows.filter((r) => 'managed' in r && 'extern_learn' in r).map((r) => ({ addr: String(r.dst), dev: String(r.dev) }));
}

export const kernelNeighbours: NeighbourTable = {
  nexthop(addr) {
    const [route] = JSON.parse(ip(['-j', 'route', 'get', addr])) as { gateway?: string; dev: string }[];
    return { addr: route.gateway ?? addr, dev: route.dev };
  },
  manage(hop) {
    ip(['neigh', 'replace', hop.addr, 'dev', hop.dev, 'managed', 'extern_learn']);
  },
  forget(hop) {
    ip(['neigh', 'del', hop.addr, 'dev', hop.dev]);
  },
};

const hopKey = (h: Nexthop) => `${h.addr}%${h.dev}`;

export class NodeNeighbours {
  /** Node address -> its next hop, for the nodes last synced. */
  private readonly hops = new Map<string, Nexthop>();

  constructor(
    private readonly log: Logger,
    private readonly table: NeighbourTable = kernelNeighbours,
  ) {}

  /** Manages the next hops of nodeAddrs and forgets those no node needs any more. */
  sync(nodeAddrs: Iterable<string>): void {
    const wanted = new Set(nodeAddrs);
    for (const addr of wanted) {
      if (this.hops.has(addr)) continue;
      try {
        const hop = this.table.nexthop(addr);
        this.table.manage(hop);
        this.hops.set(addr, hop);
        this.log.info(`neighbour: keeping ${hop.addr} on ${hop.dev} resolved for node ${addr}`);
      } catch (e) {
        this.log.error(`neighbour: node ${addr}: ${(e as Error).message.trim()}; its backends are unreachable from XDP until it resolves`);
      }
    }
    const needed = new Set([...this.hops].filter(([addr]) => wanted.has(addr)).map(([, hop]) => hopKey(hop)));
    const forgotten = new Set<string>();
    for (const [addr, hop] of [...this.hops]) {
      if (wanted.has(addr)) continue;
      this.hops.delete(addr);
      // A gateway shared with a node still in use stays; a shared one goes once.
      if (needed.has(hopKey(hop)) || forgotten.has(hopKey(hop))) continue;
      forgotten.add(hopKey(hop));
      try {
        this.table.forget(hop);
      } catch (e) {
        this.log.warn(`neighbour: forgetting ${hop.addr} on ${hop.dev}: ${(e as Error).message.trim()}`);
      }
    }
  }
}
