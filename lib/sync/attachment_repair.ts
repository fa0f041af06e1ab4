// Keeps kpr's programs on their hooks. The agent attaches the socket LB's
// programs to its cgroup at start, and the edge LB's to each device when the
// device first comes; anyone with the rights can take one off again (`ip
// link set dev eth0 xdp off`, `tc filter del`, `bpftool link detach`) or put
// another program in its place. Each full sync reads where they are, a few
// netlink and bpf queries with no attach, and re-attaches what is not in
// place; each repair is logged with what was found instead, and counted.
// What the agent wants is also pinned (kpr_attachments) for `kpr status`.
import { AttachmentFinding, checkAttachments } from '../datapath/attachment_check';
import { AttachmentView, DeviceAttachment, SocketDatapath, EdgeDatapath, Hook, ProgramIds, WantedAttachment, XdpAttachMode } from '../datapath/native';
import { Logger } from '../log';
import type { LbName } from './lb_sync';
import { stopwatch } from '../stopwatch';

/** A program the agent wants on a hook, and how it puts it there. */
export interface Wanted extends WantedAttachment {
  /** kpr_bpf_program_attached's attach_point: the cgroup's path, or the device. */
  attachPoint: string;
  attach(): void;
}

/** Whether a wanted program is in place, for kpr_bpf_program_attached. */
export interface ProgramPlace {
  program: string;
  attachPoint: string;
  attached: boolean;
}

export interface AttachmentRepairOptions {
  /** The kernel's view of the pinned links and of the devices named. */
  read(devices: string[]): AttachmentView;
  /** Pins the wanted set for `kpr status`. */
  record(rows: WantedAttachment[]): void;
  /** The inode of the agent's network namespace. */
  netns: number;
  log: Logger;
  /** Told of each program put back. */
  reattached?: (program: string, attachPoint: string) => void;
}

const errorText = (e: unknown) => (e as Error).message;

/** The socket LB's programs on the cgroup, each through the link pinned under its name. */
export function socketWanted(dp: Pick<SocketDatapath, 'attachCgroupProgram' | 'programIds'>, programs: string[], cgroup: { path: string; id: number }, linkDir: string): Wanted[] {
  const ids = dp.programIds();
  return programs.map((program) => ({
    program,
    hook: 'cgroup' as const,
    scope: cgroup.id,
    progId: ids[program],
    attachPoint: cgroup.path,
    attach: () => void dp.attachCgroupProgram(program, cgroup.path, linkDir),
  }));
}

/** The edge LB's programs on a device (bpf/xdp_lb.c, bpf/tc_dsr.c). */
export const EDGE_HOOKS: readonly { program: string; hook: Exclude<Hook, 'cgroup'> }[] = [
  { program: 'kpr_xdp_lb', hook: 'xdp' },
  { program: 'kpr_tc_dsr_ingress', hook: 'tc_ingress' },
  { program: 'kpr_tc_dsr_egress', hook: 'tc_egress' },
];

/** The per-packet path's programs on an interface towards pods (tc_dsr.c). */
export const POD_HOOKS: readonly { program: string; hook: Exclude<Hook, 'cgroup'> }[] = [
  { program: 'kpr_tc_pod_ingress', hook: 'tc_ingress' },
  { program: 'kpr_tc_dsr_egress', hook: 'tc_egress' },
];

type DeviceHook = Exclude<Hook, 'cgroup'>;

/** Each of hooks' programs on each device, put back by put(hook, device). */
function deviceWanted(ids: ProgramIds, hooks: readonly { program: string; hook: DeviceHook }[], devices: string[], netns: number, put: (hook: DeviceHook, device: string) => void): Wanted[] {
  return devices.flatMap((device) =>
    hooks.map(({ program, hook }) => ({ program, hook, device, scope: netns, progId: ids[program], attachPoint: device, attach: () => put(hook, device) })),
  );
}

const tcDirection = (hook: DeviceHook) => (hook === 'tc_ingress' ? 'ingress' : 'egress');

/** The per-packet path's programs on each interface towards pods. */
export function podWanted(dp: Pick<EdgeDatapath, 'attachPodTc' | 'programIds'>, interfaces: string[], netns: number): Wanted[] {
  return deviceWanted(dp.programIds(), POD_HOOKS, interfaces, netns, (hook, device) => void dp.attachPodTc(device, tcDirection(hook)));
}

/** The edge LB's programs on each device. attached: after a program went
 *  back, e.g. to settle map migrations (the first attach of a new build can
 *  be a repair, when its first attempt failed). */
export function edgeWanted(dp: Pick<EdgeDatapath, 'attachXdp' | 'attachTc' | 'programIds'>, devices: string[], mode: XdpAttachMode, netns: number, attached: () => void): Wanted[] {
  return deviceWanted(dp.programIds(), EDGE_HOOKS, devices, netns, (hook, device) => {
    if (hook === 'xdp') dp.attachXdp(device, mode);
    else dp.attachTc(device, tcDirection(hook));
    attached();
  });
}

export class AttachmentRepair {
  private readonly parts = new Map<LbName, Wanted[]>();
  private recorded?: string;

  constructor(private readonly o: AttachmentRepairOptions) {}

  /** What one LB wants now, replacing what it wanted before. */
  want(part: LbName, rows: Wanted[]): void {
    this.parts.set(part, rows);
    const record = this.wanted().map(({ program, hook, device, scope, progId }) => ({ program, hook, device, scope, progId }));
    const text = JSON.stringify(record);
    if (text === this.recorded) return;
    try {
      this.o.record(record);
      this.recorded = text;
    } catch (e) {
      this.o.log.error(`attach: recording where the programs go for kpr status failed: ${errorText(e)}`);
    }
  }

  /** What kpr's slots of these devices hold now (absent devices left out). */
  devices(names: string[]): DeviceAttachment[] {
    return this.o.read(names).devices;
  }

  /** The full sync's check: puts back each program not in place. */
  check(): void {
    const elapsed = stopwatch();
    const findings = this.findings();
    if (!findings) return;
    const missing = findings.filter((f) => f.found !== undefined);
    for (const { wanted: w, found } of missing) {
      const what = `${w.program} (${w.hook}) on ${w.attachPoint}`;
      try {
        w.attach();
        this.o.log.warn(`attach: re-attached ${what}; found instead: ${found}`);
        this.o.reattached?.(w.program, w.attachPoint);
      } catch (e) {
        this.o.log.error(`attach: re-attaching ${what} failed: ${errorText(e)} (found instead: ${found}); retrying at the next full sync`);
      }
    }
    if (missing.length === 0) this.o.log.debug(`attach: all ${findings.length} programs in place (checked in ${elapsed().toFixed(1)}ms)`);
  }

  /** Each wanted program and whether it is in place, read from the kernel now;
   *  undefined when the kernel could not be read. */
  places(): ProgramPlace[] | undefined {
    return this.findings()?.map(({ wanted: w, found }) => ({ program: w.program, attachPoint: w.attachPoint, attached: found === undefined }));
  }

  private wanted(): Wanted[] {
    return [...this.parts.values()].flat();
  }

  private findings(): AttachmentFinding<Wanted>[] | undefined {
    const wanted = this.wanted();
    const devices = [...new Set(wanted.flatMap((w) => (w.device ? [w.device] : [])))];
    try {
      return checkAttachments(wanted, this.o.read(devices), this.o.netns);
    } catch (e) {
      this.o.log.error(`attach: reading where the programs are failed: ${errorText(e)}`);
      return undefined;
    }
  }
}
