// A two-node test network for the edge LB: an outside client and two nodes
// on one switched segment (a bridge in its own namespace), and behind each
// node its own pod network (a bridge in the node's namespace) with pods. The
// nodes route each other's pod networks; the client reaches the load
// balancer IP through node A, as a router in front of a cluster would.
//
//   client 198.18.0.1 ─┐                 ┌─ pod a1 198.18.10.11 (node A)
//   node A 198.18.0.2 ─┼─ switch ─ ... ──┤
//   node B 198.18.0.3 ─┘                 └─ pod b1 198.18.11.11 (node B)
//
// Options put a hop of a smaller MTU on a path, for path MTU discovery:
// - clientHopMtu: the client sits behind a router (198.18.0.4 on the
//   segment, 198.18.200.1 towards the client at 198.18.200.2) whose hop
//   towards the client has that MTU;
// - podPathMtu: each node's hop towards its pods has that MTU.
// Either hop is a route MTU (locked, so that forwarding honours it for IPv6
// too), not a link's: the client's and the pods' own links stay at 1500, so
// their TCP MSS does not hide the hop, as it would not a tunnel's or a
// PPPoE link's further on; and a veth pair of two MTUs drops what one end
// cannot take instead of answering with ICMP as a router does.
// nodeMtu does the opposite: the nodes' links to the switch get that larger
// MTU (a link's, on both ends), so that a client's full-sized packet still
// fits in a DSR tunnel between the nodes.
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { onExit } from './exit_cleanup';
import { newName } from './naming';
import { links, removeNamespace } from './netns';
import { ip, run } from './run';

export interface EdgeHost {
  name: string;
  ns: string;
  ipv4: string;
  ipv6: string;
}

export interface EdgeNode extends EdgeHost {
  /** The node's device on the segment, where XDP and tc attach. */
  device: string;
  /** The node's addresses on its pod bridge: its pods' default gateway. */
  podGateway: { ipv4: string; ipv6: string };
  pods: EdgeHost[];
}

export interface EdgeTopology {
  client: EdgeHost;
  nodes: EdgeNode[];
  switchNs: string;
  /** The router between the client and the segment, with clientHopMtu. */
  router?: EdgeHost;
  /** Where the client sends load balancer IPs (node A). */
  lbNet: { ipv4: string; ipv6: string };
  /** One more pod on a node, after the start (a pod scheduled later). */
  addPod(node: EdgeNode): EdgeHost;
  destroy(): void;
}

export interface EdgeTopologyOptions {
  /** A router before the client whose hop towards it has this MTU. */
  clientHopMtu?: number;
  /** Each node's hop towards its pods has this MTU. */
  podPathMtu?: number;
  /** MTU of the nodes' side of the segment (their devices and switch ports),
   *  the client's staying 1500: room for DSR's tunnel header, as Cilium
   *  advises, so that a client's full-sized packet still fits tunnelled. */
  nodeMtu?: number;
}

const SEGMENT4 = '198.18.0.';
const SEGMENT6 = 'fd00:198:18::';
/** The client's own network behind the router. */
const CLIENT_NET = { v4: '198.18.200.', v6: 'fd00:198:18:200::' };
/** Load balancer IPs live here; the client routes them to node A. */
const LB_NET = { ipv4: '198.18.100.0/24', ipv6: 'fd00:198:18:100::/64' };
const DEVICE = 'eth0';
const PASS_PROGRAM = path.join(repoRoot(), 'build', 'xdp_pass.o');

/** The path MTU host's kernel learned towards addr, if any (`ip route get`). */
export function cachedMtu(host: EdgeHost, addr: string): number | undefined {
  const m = / mtu (\d+)/.exec(ip('-n', host.ns, ...(addr.includes(':') ? ['-6'] : []), 'route', 'get', addr));
  return m ? Number(m[1]) : undefined;
}

/** Node i's pod network: 198.18.(10+i).0/24 and fd00:198:18:(a+i)::/64. */
function podNet(i: number): { v4: string; v6: string } {
  return { v4: `198.18.${10 + i}.`, v6: `fd00:198:18:${(10 + i).toString(16)}::` };
}

/** Hosts on a wire compute their checksums in full; a veth leaves them to
 *  the receiver, which XDP cannot know about once it sends the frame on.
 *  Turning the offload off makes each veth behave as a NIC on a wire. */
function fullChecksums(ns: string, dev: string): void {
  run('ip', ['netns', 'exec', ns, 'ethtool', '-K', dev, 'tx', 'off']);
}

function sysctl(ns: string, ...settings: string[]): void {
  run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...settings]);
}

function addNamespace(ns: string): void {
  ip('netns', 'add', ns);
  ip('-n', ns, 'link', 'set', 'lo', 'up');
}

/** A veth from the switch's bridge into host's namespace, addressed on the segment. */
function plugIntoSwitch(switchNs: string, h: EdgeHost, port: string, mtu?: number): void {
  const withMtu = mtu ? ['mtu', String(mtu)] : [];
  ip('-n', switchNs, 'link', 'add', port, ...withMtu, 'type', 'veth', 'peer', 'name', DEVICE, ...withMtu, 'netns', h.ns);
  ip('-n', switchNs, 'link', 'set', port, 'master', 'br0', 'up');
  ip('-n', h.ns, 'addr', 'add', `${h.ipv4}/24`, 'dev', DEVICE);
  ip('-n', h.ns, 'addr', 'add', `${h.ipv6}/64`, 'dev', DEVICE, 'nodad');
  ip('-n', h.ns, 'link', 'set', DEVICE, 'up');
  fullChecksums(h.ns, DEVICE);
}

/** The connected routes to net (a /24 and a /64) through dev, given a
 *  locked MTU; 256 is the kernel's metric of a connected IPv6 route. */
function hopMtu(ns: string, dev: string, net: { v4: string; v6: string }, mtu: number): void {
  ip('-n', ns, 'route', 'replace', `${net.v4}0/24`, 'dev', dev, 'mtu', 'lock', String(mtu));
  ip('-n', ns, '-6', 'route', 'replace', `${net.v6}/64`, 'dev', dev, 'metric', '256', 'mtu', 'lock', String(mtu));
}

/** The client behind a router: a veth from the router's namespace into the
 *  client's, the router plugged into the switch, and routes both ways. */
function addClientRouter(switchNs: string, router: EdgeHost, client: EdgeHost, nodes: EdgeHost[], mtu: number): void {
  addNamespace(router.ns);
  plugIntoSwitch(switchNs, router, 'router');
  sysctl(router.ns, 'net.ipv4.conf.all.forwarding=1', 'net.ipv6.conf.all.forwarding=1');
  ip('-n', router.ns, 'link', 'add', 'client', 'type', 'veth', 'peer', 'name', DEVICE, 'netns', client.ns);
  ip('-n', router.ns, 'addr', 'add', `${CLIENT_NET.v4}1/24`, 'dev', 'client');
  ip('-n', router.ns, 'addr', 'add', `${CLIENT_NET.v6}1/64`, 'dev', 'client', 'nodad');
  ip('-n', router.ns, 'link', 'set', 'client', 'up');
  fullChecksums(router.ns, 'client');
  hopMtu(router.ns, 'client', CLIENT_NET, mtu);
  ip('-n', client.ns, 'addr', 'add', `${client.ipv4}/24`, 'dev', DEVICE);
  ip('-n', client.ns, 'addr', 'add', `${client.ipv6}/64`, 'dev', DEVICE, 'nodad');
  ip('-n', client.ns, 'link', 'set', DEVICE, 'up');
  fullChecksums(client.ns, DEVICE);
  ip('-n', client.ns, 'route', 'add', 'default', 'via', `${CLIENT_NET.v4}1`);
  ip('-n', client.ns, '-6', 'route', 'add', 'default', 'via', `${CLIENT_NET.v6}1`);
  ip('-n', router.ns, 'route', 'add', LB_NET.ipv4, 'via', nodes[0].ipv4);
  ip('-n', router.ns, '-6', 'route', 'add', LB_NET.ipv6, 'via', nodes[0].ipv6);
}

/** Pod p (from 0) of node i ("a" or "b"). */
function podHost(id: string, n: string, i: number, p: number): EdgeHost {
  return { name: `${n}${p + 1}`, ns: `${id}-pod-${n}${p + 1}`, ipv4: `${podNet(i).v4}${11 + p}`, ipv6: `${podNet(i).v6}${11 + p}` };
}

function addPod(node: EdgeNode, pod: EdgeHost): void {
  addNamespace(pod.ns);
  ip('-n', node.ns, 'link', 'add', pod.name, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod.ns);
  ip('-n', node.ns, 'link', 'set', pod.name, 'master', 'pods', 'up');
  ip('-n', pod.ns, 'addr', 'add', `${pod.ipv4}/24`, 'dev', 'eth0');
  ip('-n', pod.ns, 'addr', 'add', `${pod.ipv6}/64`, 'dev', 'eth0', 'nodad');
  ip('-n', pod.ns, 'link', 'set', 'eth0', 'up');
  fullChecksums(pod.ns, 'eth0');
  ip('-n', pod.ns, 'route', 'add', 'default', 'via', node.podGateway.ipv4);
  ip('-n', pod.ns, '-6', 'route', 'add', 'default', 'via', node.podGateway.ipv6);
}

export function createEdgeTopology(prefix: string, podsPerNode = 1, opts: EdgeTopologyOptions = {}): EdgeTopology {
  const { clientHopMtu, podPathMtu, nodeMtu } = opts;
  const id = newName(prefix);
  const switchNs = `${id}-sw`;
  const client: EdgeHost = clientHopMtu
    ? { name: 'client', ns: `${id}-client`, ipv4: `${CLIENT_NET.v4}2`, ipv6: `${CLIENT_NET.v6}2` }
    : { name: 'client', ns: `${id}-client`, ipv4: `${SEGMENT4}1`, ipv6: `${SEGMENT6}1` };
  const router: EdgeHost | undefined = clientHopMtu ? { name: 'router', ns: `${id}-router`, ipv4: `${SEGMENT4}4`, ipv6: `${SEGMENT6}4` } : undefined;
  const nodes: EdgeNode[] = ['a', 'b'].map((n, i) => ({
    name: `node-${n}`,
    ns: `${id}-node-${n}`,
    ipv4: `${SEGMENT4}${2 + i}`,
    ipv6: `${SEGMENT6}${2 + i}`,
    device: DEVICE,
    podGateway: { ipv4: `${podNet(i).v4}1`, ipv6: `${podNet(i).v6}1` },
    pods: Array.from({ length: podsPerNode }, (_, p) => podHost(id, n, i, p)),
  }));
  const namespaces = [switchNs, client.ns, ...(router ? [router.ns] : []), ...nodes.flatMap((n) => [n.ns, ...n.pods.map((p) => p.ns)])];
  const unregister = onExit(() => destroy());
  function destroy(): void {
    for (const ns of namespaces) removeNamespace(ns);
    unregister();
  }

  try {
    addNamespace(switchNs);
    ip('-n', switchNs, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', switchNs, 'link', 'set', 'br0', 'up');
    addNamespace(client.ns);
    const nodeA = nodes[0];
    if (router && clientHopMtu) {
      addClientRouter(switchNs, router, client, nodes, clientHopMtu);
    } else {
      plugIntoSwitch(switchNs, client, 'client');
      ip('-n', client.ns, 'route', 'add', LB_NET.ipv4, 'via', nodeA.ipv4);
      ip('-n', client.ns, '-6', 'route', 'add', LB_NET.ipv6, 'via', nodeA.ipv6);
    }
    nodes.forEach((node, i) => {
      addNamespace(node.ns);
      const port = node.name;
      plugIntoSwitch(switchNs, node, port, nodeMtu);
      ip('-n', switchNs, 'link', 'set', 'dev', port, 'xdpdrv', 'obj', PASS_PROGRAM, 'sec', 'xdp');
      sysctl(node.ns, 'net.ipv4.conf.all.forwarding=1', 'net.ipv6.conf.all.forwarding=1');
      const gw = node.podGateway;
      ip('-n', node.ns, 'link', 'add', 'pods', 'type', 'bridge');
      ip('-n', node.ns, 'addr', 'add', `${gw.ipv4}/24`, 'dev', 'pods');
      ip('-n', node.ns, 'addr', 'add', `${gw.ipv6}/64`, 'dev', 'pods', 'nodad');
      ip('-n', node.ns, 'link', 'set', 'pods', 'up');
      if (podPathMtu) hopMtu(node.ns, 'pods', podNet(i), podPathMtu);
      if (router) {
        ip('-n', node.ns, 'route', 'add', `${CLIENT_NET.v4}0/24`, 'via', router.ipv4);
        ip('-n', node.ns, '-6', 'route', 'add', `${CLIENT_NET.v6}/64`, 'via', router.ipv6);
      }
      for (const pod of node.pods) addPod(node, pod);
      nodes.forEach((other, j) => {
        if (j === i) return;
        ip('-n', node.ns, 'route', 'add', `${podNet(j).v4}0/24`, 'via', other.ipv4);
        ip('-n', node.ns, '-6', 'route', 'add', `${podNet(j).v6}/64`, 'via', other.ipv6);
      });
    });
  } catch (e) {
    destroy();
    throw e;
  }
  const addLatePod = (node: EdgeNode): EdgeHost => {
    const pod = podHost(id, node.name.slice(-1), nodes.indexOf(node), node.pods.length);
    namespaces.push(pod.ns);
    addPod(node, pod);
    node.pods.push(pod);
    return pod;
  };
  return { client, nodes, switchNs, router, lbNet: LB_NET, addPod: addLatePod, destroy };
}

/** Frames the topology's links have dropped so far, all namespaces and
 *  devices summed (TX dropped: a veth whose peer's ring was full; RX dropped:
 *  a backlog that was). A busy machine drops a few in bursts; a test that
 *  excuses a lost datagram checks its losses against this. */
export function droppedFrames(topo: EdgeTopology): number {
  const namespaces = [topo.switchNs, topo.client.ns, ...(topo.router ? [topo.router.ns] : []), ...topo.nodes.flatMap((n) => [n.ns, ...n.pods.map((p) => p.ns)])];
  return namespaces.flatMap((ns) => links(ns)).reduce((sum, l) => sum + l.txDropped + l.rxDropped, 0);
}

/** The path MTU host has learnt towards addr (a route exception, from an
 *  ICMP error), or undefined when it has learnt none. */
export function learntPathMtu(host: EdgeHost, addr: string): number | undefined {
  const m = /\bmtu (\d+)/.exec(ip('-n', host.ns, 'route', 'get', addr));
  return m ? Number(m[1]) : undefined;
}

/** Forgets every path MTU host has learnt, both families. */
export function forgetLearntPathMtus(host: EdgeHost): void {
  for (const family of ['-4', '-6']) ip('-n', host.ns, family, 'route', 'flush', 'cache');
}
