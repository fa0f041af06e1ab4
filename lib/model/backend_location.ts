// Where an external backend runs, as the edge LB needs to know it: the XDP
// program hands a connection for a backend on another node to that node,
// through a tunnel to the node's address of the backend's family (DSR, or
// SNAT's forwarding), and delivers one on this node itself. EndpointSlices
// name each endpoint's node; the addresses come from Node objects.
//
// An endpoint without a node name, or on this node, is routed by this node.
// So is one whose node is unknown or has no address of the backend's family:
// the node's own routing is the best guess left, and each such backend is
// reported, since its traffic may not reach it.
import { BackendAddr, LocatedBackend } from './frontend';
import { formatAddrPort, IpFamily, ipFamily } from './ip_address';
import { NodeContext } from './node';
import { rankedAddresses } from './node_context';
import { Node } from './objects';

/** Other nodes' addresses by node name, each list in the order the edge
 *  LB prefers them (rankedAddresses). This node's entry, if any, is not used. */
export type NodeAddresses = ReadonlyMap<string, readonly string[]>;

export const NO_NODE_ADDRESSES: NodeAddresses = new Map();

/** A backend with the node its endpoint names, if any. */
export interface PlacedBackend extends BackendAddr {
  nodeName?: string;
}

/** The addresses of every node in a set of Node objects (standalone
 *  manifests, or a node informer), InternalIP first: traffic between nodes
 *  stays inside the cluster network where it can. */
export function nodeAddresses(nodes: Node[]): NodeAddresses {
  return new Map(nodes.map((n) => [n.metadata.name, rankedAddresses(n)]));
}

export interface Located {
  backends: LocatedBackend[];
  /** One line per backend whose node has no usable address. */
  unlocated: string[];
}

/** backends (of one family) with their node addresses, in the same order. */
export function locateBackends(backends: PlacedBackend[], family: IpFamily, node: NodeContext, nodes: NodeAddresses): Located {
  const unlocated: string[] = [];
  const located = backends.map(({ addr, port, nodeName }): LocatedBackend => {
    if (nodeName === undefined || nodeName === '' || nodeName === node.name) return { addr, port };
    const addresses = nodes.get(nodeName);
    const nodeAddr = addresses?.find((a) => ipFamily(a) === family);
    if (nodeAddr !== undefined) return { addr, port, nodeAddr };
    const why = addresses === undefined ? 'is not a known node' : `has no ${family} address`;
    unlocated.push(`backend ${formatAddrPort(addr, port)} runs on node ${nodeName}, which ${why}; this node routes to it`);
    return { addr, port };
  });
  return { backends: located, unlocated };
}
