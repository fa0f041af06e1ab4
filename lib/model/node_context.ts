// A Node object as the model's SourceNode: its name, labels and IP
// addresses, ranked.
import { SourceNode } from './node';
import { Node } from './objects';

/** A Node's IP addresses, InternalIP before ExternalIP, each once (one
 *  address may be both): kube-proxy's ranking, whose primary address of a
 *  family is the first of it, and the order the edge LB prefers another
 *  node's tunnel endpoints in. */
export function rankedAddresses(node: Node): string[] {
  const addresses = node.status?.addresses ?? [];
  const ordered = [...addresses.filter((a) => a.type === 'InternalIP'), ...addresses.filter((a) => a.type === 'ExternalIP')];
  return [...new Set(ordered.map((a) => a.address))];
}

export function nodeContext(node: Node): SourceNode {
  return { name: node.metadata.name, labels: node.metadata.labels, addresses: rankedAddresses(node) };
}
