// A switched test network: one bridge in its own "switch" namespace, and a
// client and N backend namespaces each plugged into it by a veth pair. Veths
// are created inside the switch namespace, so nothing appears in the host's.
import { newName } from './naming';
import { ip } from './run';
import { removeNamespace } from './netns';
import { onExit } from './exit_cleanup';

export interface Host {
  /** 'client' or 'b1'..'bN'; a backend's echo server answers with this name. */
  name: string;
  ns: string;
  /** The interface inside ns that is plugged into the bridge. */
  ifname: string;
  ipv4: string;
  ipv6?: string;
}

export interface Topology {
  id: string;
  switchNs: string;
  bridge: string;
  client: Host;
  backends: Host[];
  /** Deletes every namespace (killing processes left inside); idempotent. */
  destroy(): void;
}

export interface TopologyOptions {
  /** Short name of the test, part of every namespace name. */
  prefix: string;
  backends: number;
  /** Also give every host an IPv6 address (default true). */
  dualStack?: boolean;
  /** Pid whose exit ends the topology (default: this process). Another pid
   *  means that process cleans up itself (the testbed CLI for shell scripts). */
  owner?: number;
}

// Host numbers give both addresses: 198.18.0.11 and fd00:198:18::11 are b1.
const IPV4_NET = '198.18.0.';
const IPV6_NET = 'fd00:198:18::';
const CLIENT_HOST = 1;
const FIRST_BACKEND_HOST = 11;
const MAX_BACKENDS = 200;
const BRIDGE = 'br0';
const IFNAME = 'eth0';

function host(id: string, name: string, hostNum: number, dualStack: boolean): Host {
  return {
    name,
    ns: `${id}-${name}`,
    ifname: IFNAME,
    ipv4: IPV4_NET + hostNum,
    ipv6: dualStack ? IPV6_NET + hostNum : undefined,
  };
}

function plugIn(switchNs: string, h: Host): void {
  ip('netns', 'add', h.ns);
  ip('-n', h.ns, 'link', 'set', 'lo', 'up');
  ip('-n', switchNs, 'link', 'add', h.name, 'type', 'veth', 'peer', 'name', h.ifname, 'netns', h.ns);
  ip('-n', switchNs, 'link', 'set', h.name, 'master', BRIDGE, 'up');
  ip('-n', h.ns, 'addr', 'add', `${h.ipv4}/24`, 'dev', h.ifname);
  // nodad: usable at once instead of "tentative" for a second or more.
  if (h.ipv6) ip('-n', h.ns, 'addr', 'add', `${h.ipv6}/64`, 'dev', h.ifname, 'nodad');
  ip('-n', h.ns, 'link', 'set', h.ifname, 'up');
}

export function createTopology(opts: TopologyOptions): Topology {
  if (!Number.isInteger(opts.backends) || opts.backends < 1 || opts.backends > MAX_BACKENDS) {
    throw new Error(`backends must be 1..${MAX_BACKENDS}, got ${opts.backends}`);
  }
  const owner = opts.owner ?? process.pid;
  const dualStack = opts.dualStack ?? true;
  const id = newName(opts.prefix, owner);
  const client = host(id, 'client', CLIENT_HOST, dualStack);
  const backends = Array.from({ length: opts.backends }, (_, i) =>
    host(id, `b${i + 1}`, FIRST_BACKEND_HOST + i, dualStack),
  );
  const switchNs = `${id}-switch`;

  const namespaces = [switchNs, client.ns, ...backends.map((b) => b.ns)];
  const unregister = owner === process.pid ? onExit(() => destroy()) : () => undefined;
  function destroy(): void {
    for (const ns of namespaces) removeNamespace(ns);
    unregister();
  }

  try {
    ip('netns', 'add', switchNs);
    ip('-n', switchNs, 'link', 'set', 'lo', 'up');
    ip('-n', switchNs, 'link', 'add', BRIDGE, 'type', 'bridge');
    ip('-n', switchNs, 'link', 'set', BRIDGE, 'up');
    for (const h of [client, ...backends]) plugIn(switchNs, h);
  } catch (e) {
    destroy();
    throw e;
  }
  return { id, switchNs, bridge: BRIDGE, client, backends, destroy };
}

