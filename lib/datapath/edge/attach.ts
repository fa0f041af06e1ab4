// How the XDP edge LB goes onto the node's devices. --bpf-lb-acceleration
// says how (Cilium's names): "native" runs the program in the driver and
// fails where the driver cannot; "generic" runs it in the kernel's generic
// hook, on any interface, at a fraction of the speed; "best-effort" is native
// where the driver supports it and generic elsewhere (unlike Cilium's, which
// leaves such an interface without XDP: kpr's edge LB lives only in XDP);
// "disabled" runs no edge LB.
import { Logger } from '../../log';
import { EdgeDatapath, XdpAttachMode } from '../native';

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

export type EdgeAttacher = Pick<EdgeDatapath, 'attachXdp' | 'attachTc'>;

/** Attaches the per-packet path (tc ingress and egress) to each interface
 *  towards pods; one that fails (a pod gone meanwhile) is left out and
 *  logged. Returns the interfaces it is on. */
export function attachPodInterfaces(dp: Pick<EdgeDatapath, 'attachPodTc'>, interfaces: string[], log: Logger): string[] {
  return interfaces.filter((dev) => {
    try {
      const t = dp.attachPodTc(dev);
      log.debug(`pod interfaces: per-packet path ${t.action} on ${dev}`);
      return true;
    } catch (e) {
      log.warn(`pod interfaces: attaching the per-packet path to ${dev} failed: ${(e as Error).message}`);
      return false;
    }
  });
}

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
