// The socket-LB bypass: pods whose connections keep the service address
// (a mesh sidecar reads it back with SO_ORIGINAL_DST; a policy is keyed on
// it), balanced per packet at their interface instead (pod_frontends.ts).
// A pod asks with the annotation kpr.io/socket-lb: disabled, or its
// namespace does (annotation or label), for all its pods; Cilium's
// per-node answer is --bpf-lb-sock-hostns-only. A pod on the node's own
// network namespace (hostNetwork) cannot be told apart from the node: it is
// never bypassed.
import { canonicalAddr } from './ip_address';
import { Namespace, Pod } from './objects';

export const SOCKET_LB_ANNOTATION = 'kpr.io/socket-lb';
export const SOCKET_LB_DISABLED = 'disabled';

const asks = (meta: { annotations: Record<string, string>; labels: Record<string, string> }, labelToo: boolean) =>
  meta.annotations[SOCKET_LB_ANNOTATION] === SOCKET_LB_DISABLED || (labelToo && meta.labels[SOCKET_LB_ANNOTATION] === SOCKET_LB_DISABLED);

/** The addresses of this node's pods that the socket LB leaves alone, sorted. */
export function socketLbBypass(pods: Iterable<Pod>, namespaces: Iterable<Namespace>, nodeName: string): string[] {
  const bypassedNs = new Set([...namespaces].filter((ns) => asks(ns.metadata, true)).map((ns) => ns.metadata.name));
  const out = new Set<string>();
  for (const pod of pods) {
    if (pod.spec?.nodeName !== nodeName || pod.spec.hostNetwork) continue;
    if (!asks(pod.metadata, false) && !bypassedNs.has(pod.metadata.namespace)) continue;
    for (const { ip } of pod.status?.podIPs ?? []) out.add(canonicalAddr(ip));
  }
  return [...out].sort();
}
