// Names of the datapath's drop and reject reasons, by index into the
// kpr_drops counters. Mirrors enum kpr_sock_reason in bpf/include/kpr_sock_types.h.
export const SOCK_DROP_REASONS: readonly string[] = ['no_backend', 'backend_missing', 'revnat_full', 'no_service'];

/** A counter's reason by index, in the socket LB's names or the edge LB's. */
export function dropReasonName(index: number, names: readonly string[] = SOCK_DROP_REASONS): string {
  return names[index] ?? `reason_${index}`;
}

/** The edge LB's drop reasons, by index into kpr_xdp_drops (pinned under its old name). Mirrors enum
 *  kpr_edge_reason in bpf/include/kpr_edge_types.h (Cilium's names where one fits). */
export const EDGE_DROP_REASONS: readonly string[] = [
  'no_service_backend',
  'source_range_denied',
  'unsupported_l3',
  'invalid_packet',
  'fib_lookup_failed',
  'backend_missing',
  'no_node_address',
  'resize_failed',
  'revnat_failed',
  'snat_no_port',
  'frag_not_found',
  'frag_needed',
  'snat_map_full',
  'sctp_fragment',
];

export function edgeDropReasonName(index: number): string {
  return EDGE_DROP_REASONS[index] ?? `reason_${index}`;
}
