// A flow's state in words, for `kpr flows`: the KPR_CT_* bits of
// bpf/include/kpr_flow_lifetime.h, as the edge LB's flow table holds them
// (what the client's packets showed; the backend's side is not in it).
import type { Protocol } from '../../model/protocol';

/** Mirrors KPR_CT_* in bpf/include/kpr_flow_lifetime.h. */
export const CT = { established: 0x01, finClient: 0x02, finBackend: 0x04, rst: 0x08, replied: 0x10, stream: 0x20 } as const;

/** syn, established, closing (a FIN seen), reset; udp, udp-stream. */
export function flowStateName(proto: Protocol, bits: number): string {
  if (proto !== 'TCP') return bits & CT.stream ? 'udp-stream' : 'udp';
  if (bits & CT.rst) return 'reset';
  if (bits & (CT.finClient | CT.finBackend)) return 'closing';
  return bits & (CT.established | CT.replied) ? 'established' : 'syn';
}
