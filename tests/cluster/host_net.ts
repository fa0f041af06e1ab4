// The cluster's wiring on the host: bridge kprc0 carries the host addresses (the
// apiserver binds the IPv4 one), and one veth per node namespace; both families. Node-to-node traffic is
// bridged, so the host needs no ip_forward; the host routes each pod range to
// its node so that it (and upstream e2e, run from here) reaches pods directly.
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../e2e/cluster';
import { ip, run } from '../helpers/run';
import { listNamespaces } from '../helpers/netns';
import { BRIDGE, BRIDGE_PREFIX, BRIDGE_PREFIX6, HOST_IP, HOST_IP6, LB_POOL, NODES, NodeLayout, OUTSIDE_CLIENT_IP, stateDir } from './layout';

const XDP_PASS = path.join(REPO_ROOT, 'build', 'xdp_pass.o');

function linkExists(name: string, netns?: string): boolean {
  try {
    ip(...(netns ? ['-n', netns] : []), 'link', 'show', 'dev', name);
    return true;
  } catch {
    return false;
  }
}

/** Frames the edge LB sends back out (XDP_TX) land on the host end of the
 *  node's veth, which takes them only with an XDP program of its own.
 *  A veth also leaves checksums to the receiver, which XDP cannot know about
 *  once it rewrote and forwarded a frame: without the offload, the kernel
 *  completes every checksum before a frame leaves, as a NIC on a wire would. */
function nicLike(node: NodeLayout): void {
  run('ethtool', ['-K', node.hostVeth, 'tx', 'off']);
  run('ip', ['netns', 'exec', node.name, 'ethtool', '-K', 'eth0', 'tx', 'off']);
  // In a mount namespace of its own: ip mounts a bpffs at /sys/fs/bpf when
  // it loads an object, which would stay on the host.
  run('unshare', ['--mount', '--propagation', 'private', 'ip', '-force', 'link', 'set', 'dev', node.hostVeth, 'xdpdrv', 'obj', XDP_PASS, 'sec', 'xdp']);
}

function nodeNet(node: NodeLayout): void {
  const ns = node.name;
  if (!listNamespaces().includes(ns)) ip('netns', 'add', ns);
  if (!linkExists(node.hostVeth)) {
    // A half-made pair (the node end stranded in the namespace) blocks a new one.
    if (linkExists('eth0', ns)) ip('-n', ns, 'link', 'del', 'eth0');
    ip('link', 'add', node.hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  }
  ip('link', 'set', node.hostVeth, 'master', BRIDGE, 'up');
  nicLike(node);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', ns, 'addr', 'replace', `${node.ip}/${BRIDGE_PREFIX}`, 'dev', 'eth0');
  // No duplicate address detection: the address is usable at once, and no other claims it.
  ip('-n', ns, 'addr', 'replace', `${node.ip6}/${BRIDGE_PREFIX6}`, 'dev', 'eth0', 'nodad');
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
  ip('-n', ns, 'route', 'replace', 'default', 'via', HOST_IP, 'dev', 'eth0');
  ip('-n', ns, '-6', 'route', 'replace', 'default', 'via', HOST_IP6, 'dev', 'eth0');
  for (const other of NODES.filter((n) => n !== node)) {
    const [v4, v6] = other.podCidrs;
    ip('-n', ns, 'route', 'replace', v4, 'via', other.ip, 'dev', 'eth0');
    ip('-n', ns, '-6', 'route', 'replace', v6, 'via', other.ip6, 'dev', 'eth0');
  }
  ip('route', 'replace', node.podCidrs[0], 'via', node.ip, 'dev', BRIDGE);
  ip('-6', 'route', 'replace', node.podCidrs[1], 'via', node.ip6, 'dev', BRIDGE);
}

// The LoadBalancer provider's multipath routes spread connections by their
// ports, as a cloud's load balancer does, not all of one client to one node.
// The host's own value is kept in the state dir and put back by hostNetDown.
const MULTIPATH_HASH = '/proc/sys/net/ipv4/fib_multipath_hash_policy';
const L4_HASH = '1';
const savedMultipathHash = () => path.join(stateDir(), 'host-fib_multipath_hash_policy');

function multipathByPorts(): void {
  if (!fs.existsSync(savedMultipathHash())) fs.writeFileSync(savedMultipathHash(), fs.readFileSync(MULTIPATH_HASH, 'utf8'));
  fs.writeFileSync(MULTIPATH_HASH, L4_HASH);
}

function restoreMultipathHash(): void {
  if (!fs.existsSync(savedMultipathHash())) return;
  fs.writeFileSync(MULTIPATH_HASH, fs.readFileSync(savedMultipathHash(), 'utf8'));
  fs.rmSync(savedMultipathHash());
}

/** Idempotent: makes what is missing, leaves what is there. */
export function hostNetUp(): void {
  if (!linkExists(BRIDGE)) ip('link', 'add', BRIDGE, 'type', 'bridge');
  ip('addr', 'replace', `${HOST_IP}/${BRIDGE_PREFIX}`, 'dev', BRIDGE);
  ip('addr', 'replace', `${HOST_IP6}/${BRIDGE_PREFIX6}`, 'dev', BRIDGE, 'nodad');
  ip('addr', 'replace', `${OUTSIDE_CLIENT_IP}/32`, 'dev', BRIDGE);
  ip('link', 'set', BRIDGE, 'up');
  // The LoadBalancer provider routes the pool's IPs in use; the others are
  // refused here, never sent out of the machine by its default route.
  ip('route', 'replace', 'unreachable', LB_POOL);
  multipathByPorts();
  for (const node of NODES) nodeNet(node);
}

/** Call after every process of the nodes is gone: a namespace with a process in it outlives `ip netns del`. */
export function hostNetDown(o: { keepBridge?: boolean } = {}): void {
  for (const node of NODES) {
    if (linkExists(node.hostVeth)) ip('link', 'del', node.hostVeth);
    if (listNamespaces().includes(node.name)) ip('netns', 'del', node.name);
  }
  if (o.keepBridge) return;
  // The pod routes go with the bridge (or with the node's veth, they point at its address).
  if (linkExists(BRIDGE)) ip('link', 'del', BRIDGE);
  // Not a route of the bridge: it stays when the bridge goes.
  if (ip('route', 'show', 'exact', LB_POOL).trim()) ip('route', 'del', 'unreachable', LB_POOL);
  restoreMultipathHash();
}

export function netnsExists(node: NodeLayout): boolean {
  return fs.existsSync(`/run/netns/${node.name}`);
}
