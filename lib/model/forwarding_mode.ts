// How the edge LB hands a connection to a backend on another node, by
// Cilium's names: "dsr" tunnels the client's packets to the backend's node,
// which answers the client directly (the backend sees the client's address);
// "snat" sends them from this node's address, so replies come back through
// it. --bpf-lb-mode picks for all services, "hybrid" meaning DSR for TCP and
// SNAT for the rest (Cilium's choice: the tunnel header costs DSR packets
// room, which TCP absorbs through its MSS and UDP cannot); a service may pick
// for itself with Cilium's annotation.
import { annotationChoice, Choice } from './annotation_choice';
import { Service } from './objects';
import { Protocol } from './protocol';

export const FORWARDING_MODES = ['dsr', 'snat'] as const;
export type ForwardingMode = (typeof FORWARDING_MODES)[number];

export const LB_MODES = ['snat', 'dsr', 'hybrid'] as const;
export type LbMode = (typeof LB_MODES)[number];

export const FORWARDING_MODE_ANNOTATION = 'service.cilium.io/forwarding-mode';

export function annotatedForwardingMode(svc: Service): Choice<ForwardingMode> {
  return annotationChoice(svc, FORWARDING_MODE_ANNOTATION, FORWARDING_MODES);
}

export function forwardingMode(svc: Service, proto: Protocol, lbMode: LbMode): ForwardingMode {
  const annotated = annotatedForwardingMode(svc).value;
  if (annotated !== undefined) return annotated;
  if (lbMode === 'hybrid') return proto === 'TCP' ? 'dsr' : 'snat';
  return lbMode;
}
