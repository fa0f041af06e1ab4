// The datapath benchmark's network: one backend namespace that owns every
// endpoint address (local routes for the endpoints' range: the kernel
// answers for any address in it) served by one bounded server (rrd.c), and
// per peer a slot: its node namespace linked to the backend by a veth, and an
// external client namespace linked to the node by another, the node
// forwarding between them.
//
//   client 198.18.253.4k+1 ── ext | node k (the proxy) | be ── n<k> backend
//                             198.18.253.4k+2   198.18.252.4k+1 / 4k+2
//
// The links live in 198.18.252-253.x and the Node's address (on the node's
// lo) at 198.18.255.254, all outside the endpoints' 198.18.0-251.x.
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { onExit } from '../helpers/exit_cleanup';
import { LineProcess } from '../helpers/line_process';
import { newName } from '../helpers/naming';
import { removeNamespace } from '../helpers/netns';
import { ip, run } from '../helpers/run';
import { BACKEND_PORT } from './control_plane_objects';

/** 198.18.0.0 - 198.18.251.255: every endpoint the benchmark objects use. */
const ENDPOINT_RANGES = ['198.18.0.0/17', '198.18.128.0/18', '198.18.192.0/19', '198.18.224.0/20', '198.18.240.0/21', '198.18.248.0/22'];
const BUILD = path.join(repoRoot(), 'build');
const PASS_PROGRAM = path.join(BUILD, 'xdp_pass.o');
const SERVER_MAX_SECONDS = 7200;
const SERVER_READY_MS = 10_000;
/** The node's device towards the external client: where the edge LB attaches. */
export const EXTERNAL_DEVICE = 'ext';
/** The node's device towards the backend. */
export const BACKEND_DEVICE = 'be';

/** What the backend has served since it started (rrd.c, on SIGUSR1). */
export interface BackendCounts {
  tcpAccepted: number;
  udpAnswered: number;
}

export interface Backend {
  ns: string;
  counts(): Promise<BackendCounts>;
  destroy(): Promise<void>;
}

export interface Slot {
  /** The external client's namespace. */
  clientNs: string;
  /** Addresses on the links: the client's, and the node's and the backend's ends of theirs. */
  clientAddr: string;
  nodeLinkAddr: string;
  backendLinkAddr: string;
  /** The backend's end of its link to the node. */
  backendDev: string;
  /** Removes the client namespace (the node's is its owner's to remove). */
  destroy(): void;
}

function addNamespace(ns: string): void {
  ip('netns', 'add', ns);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
}

/** Hosts on a wire compute their checksums in full; a veth leaves them to
 *  the receiver, which an XDP program that rewrites a packet cannot know
 *  about. Every peer's veths are set alike. */
function fullChecksums(ns: string, dev: string): void {
  run('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tx', 'off']);
}

/** Native XDP on a veth wants a program on its peer too: one that passes
 *  every packet, so that the peer can be redirected into. */
export function passXdp(ns: string, dev: string): void {
  ip('-n', ns, 'link', 'set', 'dev', dev, 'xdpdrv', 'obj', PASS_PROGRAM, 'sec', 'xdp');
}

/** The MAC address of device dev in namespace ns. */
export function macAddress(ns: string, dev: string): string {
  const [link] = JSON.parse(ip('-j', '-n', ns, 'link', 'show', 'dev', dev)) as { address: string }[];
  return link.address;
}

/** A veth pair between two namespaces, both ends up, addressed. */
function link(a: { ns: string; dev: string; addr: string }, b: { ns: string; dev: string; addr: string }): void {
  ip('-n', a.ns, 'link', 'add', a.dev, 'type', 'veth', 'peer', 'name', b.dev, 'netns', b.ns);
  for (const end of [a, b]) {
    ip('-n', end.ns, 'addr', 'add', `${end.addr}/30`, 'dev', end.dev);
    ip('-n', end.ns, 'link', 'set', end.dev, 'up');
    fullChecksums(end.ns, end.dev);
  }
}

export async function createBackend(prefix: string): Promise<Backend> {
  const ns = newName(prefix);
  let server: LineProcess | undefined;
  const unregister = onExit(() => removeNamespace(ns));
  const destroy = async () => {
    await server?.stop();
    removeNamespace(ns);
    unregister();
  };
  try {
    addNamespace(ns);
    for (const range of ENDPOINT_RANGES) ip('-n', ns, 'route', 'add', 'local', range, 'dev', 'lo');
    const rrd = new LineProcess('rrd', 'ip', ['netns', 'exec', ns, path.join(BUILD, 'rrd'), String(BACKEND_PORT), String(SERVER_MAX_SECONDS)]);
    server = rrd;
    await rrd.waitForLine('listening', (l) => l === 'listening', SERVER_READY_MS);
    // `ip netns exec` execs rrd: the pid is the server's own.
    const counts = async () => {
      const seen = rrd.stdoutLines.length;
      process.kill(rrd.pid as number, 'SIGUSR1');
      await rrd.waitUntil('its counts', () => (rrd.stdoutLines.length > seen ? true : undefined), SERVER_READY_MS);
      return JSON.parse(rrd.stdoutLines[rrd.stdoutLines.length - 1]) as BackendCounts;
    };
    return { ns, counts, destroy };
  } catch (e) {
    await destroy();
    throw e;
  }
}

/** Links node namespace `nodeNs` into slot k (0-based) of the network. */
export function linkNode(backend: Backend, nodeNs: string, k: number, prefix: string): Slot {
  const clientNs = newName(`${prefix}-client`);
  const unregister = onExit(() => removeNamespace(clientNs));
  const destroy = () => {
    removeNamespace(clientNs);
    unregister();
  };
  const at = (net: number, host: number) => `198.18.${net}.${4 * k + host}`;
  const backendDev = `n${k}`;
  try {
    addNamespace(clientNs);
    link({ ns: backend.ns, dev: backendDev, addr: at(252, 2) }, { ns: nodeNs, dev: BACKEND_DEVICE, addr: at(252, 1) });
    link({ ns: clientNs, dev: 'eth0', addr: at(253, 1) }, { ns: nodeNs, dev: EXTERNAL_DEVICE, addr: at(253, 2) });
    passXdp(clientNs, 'eth0');
    ip('-n', clientNs, 'route', 'add', 'default', 'via', at(253, 2));
    ip('-n', nodeNs, 'route', 'add', 'default', 'via', at(252, 2));
    ip('-n', backend.ns, 'route', 'add', `${at(253, 0)}/30`, 'via', at(252, 1));
    run('ip', ['netns', 'exec', nodeNs, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    return { clientNs, clientAddr: at(253, 1), nodeLinkAddr: at(252, 1), backendLinkAddr: at(252, 2), backendDev, destroy };
  } catch (e) {
    destroy();
    throw e;
  }
}
