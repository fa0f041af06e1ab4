// The node's network interfaces: those that hold its addresses, where
// traffic for a NodePort or a LoadBalancer IP from outside arrives (the edge
// LB's devices by default), and those of the agent's network namespace.
import * as fs from 'fs';
import * as os from 'os';
import { canonicalAddr } from '../model/ip_address';

/** The non-loopback interfaces that hold one of addresses (canonical), in name order. */
export function detectDevices(addresses: string[], interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces()): string[] {
  const wanted = new Set(addresses);
  const names = Object.entries(interfaces)
    .filter(([, infos]) => (infos ?? []).some((i) => !i.internal && wanted.has(canonicalAddr(i.address))))
    .map(([name]) => name);
  return names.sort();
}

/** The interfaces of this network namespace, by /proc/self/net/dev (sysfs
 *  shows the namespace it was mounted in, not the reader's). */
export function namespaceInterfaces(netDev: string = fs.readFileSync('/proc/self/net/dev', 'utf8')): string[] {
  return netDev.split('\n').flatMap((line) => {
    const m = /^\s*([^\s:]+):/.exec(line);
    return m ? [m[1]] : [];
  });
}
