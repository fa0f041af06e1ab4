// Which source ports snat mode gives the flows it sends to backends on other
// nodes (bpf/include/kpr_edge_snat.h). A backend's reply comes back to this
// node on that port, and the edge LB takes every such reply for its flow: so
// the ports must be ones the node never uses for its own connections. By
// default they are 1024-65535 without the node's ip_local_port_range (where
// its own connections' ports come from): 1024-32767 and 61000-65535 on a
// node with Linux's defaults, 36280 ports to each backend. The ports the
// node serves frontends on (NodePorts) are in there, and skipped one by one
// (kpr_edge_snat.h): leaving the whole NodePort range out would cost 2768
// ports to every backend.
import type { PortRange } from '../native';

/** Below this, ports are the system's (privileged). */
const FIRST_USER_PORT = 1024;
/** The BPF program takes at most this many ranges (KPR_SNAT_RANGES). */
export const MAX_SNAT_RANGES = 2;

/** "30000-32767" (or one port alone); undefined when it is not a range of 1-65535. */
export function parsePortRange(text: string): PortRange | undefined {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = Number(m[2] ?? m[1]);
  return min >= 1 && min <= max && max <= 65535 ? { min, max } : undefined;
}

export const rangeSize = (r: PortRange): number => r.max - r.min + 1;

export const formatPortRanges = (ranges: PortRange[]): string => ranges.map((r) => `${r.min}-${r.max}`).join(',');

/** ranges without the ports of cut. */
function without(ranges: PortRange[], cut: PortRange): PortRange[] {
  return ranges.flatMap((r) => {
    if (cut.max < r.min || cut.min > r.max) return [r];
    const left = cut.min > r.min ? [{ min: r.min, max: cut.min - 1 }] : [];
    const right = cut.max < r.max ? [{ min: cut.max + 1, max: r.max }] : [];
    return [...left, ...right];
  });
}

/** The default snat ports: 1024-65535 without the local port range, in
 *  port order. */
export function defaultSnatPorts(local: PortRange): PortRange[] {
  const pieces = without([{ min: FIRST_USER_PORT, max: 65535 }], local);
  return pieces
    .sort((a, b) => rangeSize(b) - rangeSize(a))
    .slice(0, MAX_SNAT_RANGES)
    .sort((a, b) => a.min - b.min);
}

/** Where configured ranges overlap the node's own ports: a reply to one of
 *  its connections there could be taken for a snat flow's. */
export function snatPortClashes(ranges: PortRange[], local: PortRange): PortRange[] {
  return ranges.flatMap((r) => {
    const min = Math.max(r.min, local.min);
    const max = Math.min(r.max, local.max);
    return min <= max ? [{ min, max }] : [];
  });
}
