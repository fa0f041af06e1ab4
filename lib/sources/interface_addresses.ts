// This node's interface addresses, kept current: NodePorts are served on
// them (model/nodeport_addresses.ts), and an address added to an interface
// or removed from it must be served, or stop being served, without a
// restart.
//
// They are read with os.networkInterfaces() (getifaddrs(): a netlink dump of
// the namespace the agent runs in, so an agent started inside a node's
// network namespace sees that namespace's addresses) once a second, rather
// than by following RTM_NEWADDR/RTM_DELADDR notifications (`ip monitor
// address` or a netlink socket in the addon): the whole list is read each
// time, so there is no event to miss while a monitor restarts, no child
// process to supervise and no output to parse, and a change is served
// within a second plus one sync. The cost is one dump a second: 4.6 ms
// with 300 interfaces and 450 addresses on the 2-CPU test machine, under
// 0.5% of one CPU; the model only recomputes when the list changes.
// getifaddrs() leaves out interfaces that are down or without carrier, whose
// addresses the kernel does not deliver to either.
import * as os from 'os';
import { Logger } from '../log';
import { canonicalIp, ipSortKey } from '../model/ip_address';
import { sortedBy } from '../model/order';

export type Interfaces = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

export const INTERFACE_POLL_MS = 1000;

/** The canonical addresses of the interfaces that keep passes, each once,
 *  in interface order (IPv4-mapped IPv6 addresses have no canonical form
 *  and are left out). */
export function canonicalInterfaceAddresses(interfaces: Interfaces, keep: (info: os.NetworkInterfaceInfo) => boolean = () => true): string[] {
  const out = new Set<string>();
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      const ip = canonicalIp(info.address);
      if (ip && keep(info)) out.add(ip);
    }
  }
  return [...out];
}

/** Every address of every interface, sorted: IPv4 first, then numerically. */
export function interfaceAddresses(interfaces: Interfaces = os.networkInterfaces()): string[] {
  return sortedBy(canonicalInterfaceAddresses(interfaces), ipSortKey);
}

/** Reads the interface addresses now and then every INTERFACE_POLL_MS,
 *  handing each new list to onChange and logging what came and went. A
 *  failed read keeps the last list and is logged once. */
export class InterfaceAddressWatch {
  private timer?: NodeJS.Timeout;
  private last?: string[];
  /** The last read's error, logged once until a read succeeds. */
  private error?: string;

  constructor(
    private readonly onChange: (addresses: string[]) => void,
    private readonly log: Logger,
    private readonly read: () => string[] = interfaceAddresses,
  ) {}

  start(): void {
    this.poll();
    this.timer = setInterval(() => this.poll(), INTERFACE_POLL_MS);
    // The agent exits when its signal handler is done, whatever this timer says.
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private poll(): void {
    let now: string[];
    try {
      now = this.read();
      this.error = undefined;
    } catch (e) {
      const m = (e as Error).message;
      if (m !== this.error) this.log.error(`interfaces: reading the addresses failed: ${m}; keeping the last ones`);
      this.error = m;
      return;
    }
    const before = this.last;
    if (before && before.length === now.length && before.every((a, i) => a === now[i])) return;
    this.last = now;
    if (before) {
      const added = now.filter((a) => !before.includes(a));
      const removed = before.filter((a) => !now.includes(a));
      this.log.info(`interfaces: ${[...added.map((a) => `${a} added`), ...removed.map((a) => `${a} removed`)].join(', ')}`);
    } else {
      this.log.info(`interfaces: addresses ${now.join(', ') || 'none'}`);
    }
    this.onChange(now);
  }
}
