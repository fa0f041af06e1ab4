// This node's context in standalone mode: the Node of this node's name when
// the manifests hold one (labels for topology, addresses for NodePorts), else
// the addresses of the local interfaces and no labels.
import * as os from 'os';
import { canonicalIp } from '../model/ip_address';
import { NodeContext } from '../model/node';
import { nodeContext } from '../model/node_context';
import { Node } from '../model/objects';

/** Addresses other hosts can reach: not loopback, not IPv6 link-local
 *  (those need an interface to mean anything). */
export function interfaceAddresses(interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): string[] {
  const out = new Set<string>();
  for (const infos of Object.values(interfaces)) {
    for (const info of infos ?? []) {
      const ip = canonicalIp(info.address);
      if (ip && !info.internal && !(info.family === 'IPv6' && info.scopeid)) out.add(ip);
    }
  }
  return [...out];
}

export function standaloneNode(name: string, nodes: Node[], interfaces?: NodeJS.Dict<os.NetworkInterfaceInfo[]>): NodeContext {
  const node = nodes.find((n) => n.metadata.name === name);
  return node ? nodeContext(node) : { name, labels: {}, addresses: interfaceAddresses(interfaces) };
}
