// This node in standalone mode: the Node of this node's name when the
// manifests hold one (labels for topology, addresses for NodePorts), else
// the addresses of the local interfaces and no labels.
import * as os from 'os';
import { SourceNode } from '../model/node';
import { nodeContext } from '../model/node_context';
import { Node } from '../model/objects';
import { canonicalInterfaceAddresses, Interfaces } from './interface_addresses';

/** Addresses other hosts can reach: not on a loopback interface, not IPv6
 *  link-local (those need an interface to mean anything). */
export function reachableAddresses(interfaces: Interfaces = os.networkInterfaces()): string[] {
  return canonicalInterfaceAddresses(interfaces, (info) => !info.internal && !(info.family === 'IPv6' && info.scopeid));
}

export function standaloneNode(name: string, nodes: Node[], interfaces?: Interfaces): SourceNode {
  const node = nodes.find((n) => n.metadata.name === name);
  return node ? nodeContext(node) : { name, labels: {}, addresses: reachableAddresses(interfaces) };
}
