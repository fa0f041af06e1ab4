// The interfaces the XDP edge LB runs on, and how it is attached to them.
// By default, the interfaces that hold this node's addresses: traffic for a
// NodePort or a LoadBalancer IP from outside arrives where the node is
// reached. --bpf-lb-acceleration says how (Cilium's names): "native" runs the
// program in the driver and fails where the driver cannot; "generic" runs it
// in the kernel's generic hook, on any interface, at a fraction of the speed;
// "best-effort" is native where the driver supports it and generic elsewhere
// (unlike Cilium's, which leaves such an interface without XDP: kpr's edge LB
// lives only in XDP); "disabled" runs no edge LB.
import * as fs from 'fs';
import * as os from 'os';
import { Logger } from '../log';
import { canonicalAddr } from '../model/ip_address';
import { EdgeDatapath, XdpAttachMode } from './native';

export const XDP_ACCELERATIONS = ['native', 'generic', 'best-effort', 'disabled'] as const;
export type XdpAcceleration = (typeof XDP_ACCELERATIONS)[number];

/** The attach mode asked of the addon; undefined: no edge LB. */
export function attachMode(acceleration: XdpAcceleration): XdpAttachMode | undefined {
  switch (acceleration) {
    case 'best-effort':
      return 'auto';
    case 'disabled':
      return undefined;
    default:
      return acceleration;
  }
}

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

export type EdgeAttacher = Pick<EdgeDatapath, 'attachXdp' | 'attachTc'>;

/** Attaches the edge LB to each device: XDP for the traffic that arrives,
 *  tc for the tunnels to end and the replies to turn back into the
 *  frontend's. Each failure is logged on its own: one interface without XDP
 *  must not take the edge LB off the others. Returns the devices it is on. */
export function attachDevices(dp: EdgeAttacher, devices: string[], mode: XdpAttachMode, log: Logger): string[] {
  const attached: string[] = [];
  for (const dev of devices) {
    try {
      const x = dp.attachXdp(dev, mode);
      const t = dp.attachTc(dev);
      log.info(`xdp: edge LB ${x.action} on ${dev} (${x.mode}${mode === 'auto' ? ', chosen automatically' : ''}); tc ${t.action}`);
      attached.push(dev);
    } catch (e) {
      log.error(`xdp: attaching the edge LB to ${dev} (${mode}) failed: ${(e as Error).message}`);
    }
  }
  return attached;
}
