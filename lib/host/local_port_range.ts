// The node's ip_local_port_range: where the kernel takes its own connections'
// source ports from. Snat mode keeps its ports out of it
// (datapath/edge/snat_ports.ts), and the inherited NAT table keeps nf_nat's
// moves of the node's connections in it (inherited_nat.ts).
import * as fs from 'fs';

/** Ports min..max, both included. */
export interface PortRange {
  min: number;
  max: number;
}

/** The range as the agent's network namespace has it. */
export function localPortRange(text = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')): PortRange {
  const [min, max] = text.trim().split(/\s+/).map(Number);
  if (!(min >= 1 && min <= max && max <= 65535)) throw new Error(`ip_local_port_range ${JSON.stringify(text.trim())} is not a port range`);
  return { min, max };
}
