// The cluster's wiring on the host: bridge kprc0 carries the host address the
// apiserver binds, and one veth per node namespace. Node-to-node traffic is
// bridged, so the host needs no ip_forward; the host routes each pod range to
// its node so that it (and upstream e2e, run from here) reaches pods directly.
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../e2e/cluster';
import { ip, run } from '../helpers/run';
import { listNamespaces } from '../helpers/netns';
import { BRIDGE, BRIDGE_PREFIX, HOST_IP, NODES, NodeLayout } from './layout';

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
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
  ip('-n', ns, 'route', 'replace', 'default', 'via', HOST_IP, 'dev', 'eth0');
  for (const other of NODES.filter((n) => n !== node)) {
    ip('-n', ns, 'route', 'replace', other.podCidr, 'via', other.ip, 'dev', 'eth0');
  }
  ip('route', 'replace', node.podCidr, 'via', node.ip, 'dev', BRIDGE);
}

/** Idempotent: makes what is missing, leaves what is there. */
export function hostNetUp(): void {
  if (!linkExists(BRIDGE)) ip('link', 'add', BRIDGE, 'type', 'bridge');
  ip('addr', 'replace', `${HOST_IP}/${BRIDGE_PREFIX}`, 'dev', BRIDGE);
  ip('link', 'set', BRIDGE, 'up');
  for (const node of NODES) nodeNet(node);
}

/** Call after every process of the nodes is gone: a namespace with a process in it outlives `ip netns del`. */
export function hostNetDown(o: { keepBridge?: boolean } = {}): void {
  for (const node of NODES) {
    if (linkExists(node.hostVeth)) ip('link', 'del', node.hostVeth);
    if (listNamespaces().includes(node.name)) ip('netns', 'del', node.name);
  }
  // The pod routes go with the bridge (or with the node's veth, they point at its address).
  if (linkExists(BRIDGE) && !o.keepBridge) ip('link', 'del', BRIDGE);
}

export function netnsExists(node: NodeLayout): boolean {
  return fs.existsSync(`/run/netns/${node.name}`);
}
