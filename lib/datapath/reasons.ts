// Names of the datapath's drop and reject reasons, by index into the
// kpr_drops counters. Mirrors enum kpr_reason in bpf/include/kpr_types.h.
export const DROP_REASONS: readonly string[] = ['no_backend', 'backend_missing', 'revnat_full'];

export function dropReasonName(index: number): string {
  return DROP_REASONS[index] ?? `reason_${index}`;
}
