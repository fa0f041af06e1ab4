// Whether each program kpr wants on a hook is there, as the kernel tells it:
// the agent's full sync asks before it re-attaches anything, and `kpr
// status` before it answers. A program is in place when its hook holds the
// very program the agent attached (the same id): for the socket LB, the link
// pinned under the program's name, attached to the agent's cgroup; for the
// edge LB, the device's XDP program and kpr's slot of the device's tc
// ingress or egress.
import type { AttachmentView, DeviceAttachment, PinnedLink, WantedAttachment } from './native';

export interface AttachmentFinding<W extends WantedAttachment = WantedAttachment> {
  wanted: W;
  /** What the hook holds instead; undefined: the program is in place. */
  found?: string;
}

/** Where a wanted program goes, for people: the device, or the cgroup by id. */
export function hookPlace(w: WantedAttachment): string {
  return w.device ?? `cgroup ${w.scope}`;
}

const program = (name: string | undefined, id: number) => `${name || 'a program'} (id ${id})`;

function cgroupFinding(w: WantedAttachment, links: PinnedLink[]): string | undefined {
  const link = links.find((l) => l.name === w.program);
  if (!link) return 'no link pinned';
  if (link.cgroupId === 0) return 'its link, detached from the cgroup';
  if (link.cgroupId !== w.scope) return `its link, on cgroup ${link.cgroupId}`;
  return link.progId === w.progId ? undefined : `${program(link.program, link.progId)} in its link`;
}

function deviceFinding(w: WantedAttachment, devices: DeviceAttachment[], netns: number): string | undefined {
  // ifindexes and names mean nothing across namespaces: only the agent's own can say.
  if (w.scope !== netns) return `not checked: the device is in another network namespace (inode ${w.scope}, this is ${netns})`;
  const d = devices.find((x) => x.device === w.device);
  if (!d) return 'no such device';
  const [name, id, what] =
    w.hook === 'xdp' ? [d.xdp, d.xdpId, 'XDP program'] : w.hook === 'tc_ingress' ? [d.tcIngress, d.tcIngressId, 'tc ingress filter'] : [d.tcEgress, d.tcEgressId, 'tc egress filter'];
  if (!id) return w.hook === 'xdp' ? 'no XDP program' : `no ${what} in kpr's slot (handle 1, priority 1)`;
  return id === w.progId ? undefined : `${what} ${program(name, id)}`;
}

/** Each wanted program, with what its hook holds instead when it is not
 *  there. netns: the inode of the caller's network namespace. */
export function checkAttachments<W extends WantedAttachment>(wanted: W[], view: AttachmentView, netns: number): AttachmentFinding<W>[] {
  return wanted.map((w) => ({ wanted: w, found: w.hook === 'cgroup' ? cgroupFinding(w, view.links) : deviceFinding(w, view.devices, netns) }));
}
