// The edge LB's decisions as `kpr trace` reports them: the names of the
// numbers the BPF side records (bpf/include/kpr_edge_types.h).
import { formatAddrPort } from '../../model/ip_address';
import { TraceEvent } from '../native';
import { edgeDropReasonName } from '../reasons';

/** enum kpr_pick */
export const PICKS = ['none', 'flow', 'affinity', 'maglev', 'random', 'conntrack'] as const;
/** enum kpr_path */
export const PATHS = ['none', 'local', 'dsr', 'snat'] as const;
/** XDP actions (include/uapi/linux/bpf.h) */
const XDP_ACTIONS = ['aborted', 'drop', 'pass', 'tx', 'redirect'] as const;

export interface Decision {
  /** Seconds since boot, from the kernel's monotonic clock. */
  time: number;
  client: string;
  frontend: string;
  svcId: number;
  backend?: string;
  /** How the backend was chosen; 'none' when no backend was. */
  pick: string;
  /** Where the packet went: local, dsr, snat; 'none' with no backend. */
  path: string;
  /** The XDP action taken. */
  action: string;
  /** Why it was dropped, or rejected before any backend was chosen. */
  reason?: string;
}

const nameOf = (names: readonly string[], i: number) => names[i] ?? `unknown_${i}`;

export function decision(e: TraceEvent): Decision {
  const action = nameOf(XDP_ACTIONS, e.action);
  const pick = nameOf(PICKS, e.pick);
  const d: Decision = {
    time: e.tsNs / 1e9,
    client: formatAddrPort(e.client, e.clientPort),
    frontend: `${formatAddrPort(e.frontend, e.frontendPort)}/${e.proto}`,
    svcId: e.svcId,
    pick,
    path: nameOf(PATHS, e.path),
    action,
  };
  if (e.backend !== undefined && e.backendPort !== undefined) d.backend = formatAddrPort(e.backend, e.backendPort);
  if (action === 'drop' || pick === 'none') d.reason = edgeDropReasonName(e.dropReason);
  return d;
}
