// A Node object as the model's NodeContext: the node's IP addresses in the
// order the Node lists them (InternalIP usually first), each once: the same
// address may be both an InternalIP and an ExternalIP.
import { NodeContext } from './node';
import { Node } from './objects';

export function nodeContext(node: Node): NodeContext {
  const addresses = new Set((node.status?.addresses ?? []).map((a) => a.address));
  return { name: node.metadata.name, labels: node.metadata.labels, addresses: [...addresses] };
}
