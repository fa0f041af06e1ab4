import { AttachmentView, DeviceAttachment, WantedAttachment } from '../../lib/datapath/native';
import { AttachmentRepair, edgeWanted, Wanted } from '../../lib/sync/attachment_repair';
import { MemoryLogger } from './logger';

const NETNS = 4026531840;
const IDS = { kpr_xdp_lb: 21, kpr_tc_dsr_ingress: 22, kpr_tc_dsr_egress: 23 };

/** A device's hooks as the kernel would hold them, and an edge LB that fills them. */
function world() {
  const devices = new Map<string, DeviceAttachment>();
  const put = (device: string, d: Partial<DeviceAttachment>) => devices.set(device, { ...(devices.get(device) ?? { device }), ...d });
  const calls: string[] = [];
  const dp = {
    programIds: () => IDS,
    attachXdp: (device: string) => {
      calls.push(`xdp ${device}`);
      if (device === 'eth9') throw new Error('device eth9: No such device');
      put(device, { xdp: 'kpr_xdp_lb', xdpId: IDS.kpr_xdp_lb, xdpMode: 'native' });
      return { mode: 'native' as const, action: 'replaced' as const };
    },
    attachTc: (device: string, direction?: string) => {
      calls.push(`tc ${direction} ${device}`);
      if (device === 'eth9') throw new Error('device eth9: No such device');
      if (direction !== 'egress') put(device, { tcIngress: 'kpr_tc_dsr_ingr', tcIngressId: IDS.kpr_tc_dsr_ingress });
      if (direction !== 'ingress') put(device, { tcEgress: 'kpr_tc_dsr_egre', tcEgressId: IDS.kpr_tc_dsr_egress });
      return { action: 'replaced' as const };
    },
  };
  const view = (names: string[]): AttachmentView => ({ links: [], devices: names.flatMap((n) => devices.get(n) ?? []) });
  return { devices, put, calls, dp, view };
}

function repairOf(w: ReturnType<typeof world>) {
  const log = new MemoryLogger();
  const records: WantedAttachment[][] = [];
  const reattached: string[] = [];
  const repair = new AttachmentRepair({
    read: w.view,
    record: (rows) => void records.push(rows),
    netns: NETNS,
    log,
    reattached: (program, point) => void reattached.push(`${program}@${point}`),
  });
  return { repair, log, records, reattached };
}

describe('AttachmentRepair', () => {
  test('a full check with everything in place attaches nothing and counts nothing', () => {
    const w = world();
    for (const d of ['eth0', 'eth1']) w.dp.attachXdp(d) && w.dp.attachTc(d);
    w.calls.length = 0;
    const r = repairOf(w);
    let settled = 0;
    r.repair.want('edge', edgeWanted(w.dp, ['eth0', 'eth1'], 'auto', NETNS, () => settled++));
    r.repair.check();
    expect(w.calls).toEqual([]);
    expect(r.reattached).toEqual([]);
    expect(settled).toBe(0);
    expect(r.log.lines).toEqual([expect.stringMatching(/^debug attach: all 6 programs in place \(checked in [\d.]+ms\)$/)]);
    expect(r.repair.places()?.every((p) => p.attached)).toBe(true);
  });

  test('only what is missing or replaced goes back, each logged with what was there and counted', () => {
    const w = world();
    w.dp.attachXdp('eth0');
    w.dp.attachTc('eth0');
    w.put('eth0', { xdp: 'xdp_pass', xdpId: 57, tcEgress: undefined, tcEgressId: undefined });
    w.calls.length = 0;
    const r = repairOf(w);
    let settled = 0;
    r.repair.want('edge', edgeWanted(w.dp, ['eth0'], 'auto', NETNS, () => settled++));
    expect(r.repair.places()).toEqual([
      { program: 'kpr_xdp_lb', attachPoint: 'eth0', attached: false },
      { program: 'kpr_tc_dsr_ingress', attachPoint: 'eth0', attached: true },
      { program: 'kpr_tc_dsr_egress', attachPoint: 'eth0', attached: false },
    ]);
    r.repair.check();
    expect(w.calls).toEqual(['xdp eth0', 'tc egress eth0']);
    expect(r.reattached).toEqual(['kpr_xdp_lb@eth0', 'kpr_tc_dsr_egress@eth0']);
    expect(settled).toBe(2);
    expect(r.log.lines).toEqual([
      'warn attach: re-attached kpr_xdp_lb (xdp) on eth0; found instead: XDP program xdp_pass (id 57)',
      "warn attach: re-attached kpr_tc_dsr_egress (tc_egress) on eth0; found instead: no tc egress filter in kpr's slot (handle 1, priority 1)",
    ]);
    expect(r.repair.places()?.every((p) => p.attached)).toBe(true);
  });

  test('a repair that fails is logged, not counted, and tried again at the next check', () => {
    const w = world();
    const r = repairOf(w);
    r.repair.want('edge', edgeWanted(w.dp, ['eth9'], 'native', NETNS, () => undefined));
    r.repair.check();
    r.repair.check();
    expect(w.calls.filter((c) => c === 'xdp eth9')).toHaveLength(2);
    expect(r.reattached).toEqual([]);
    expect(r.log.matching(/^error attach: re-attaching kpr_xdp_lb \(xdp\) on eth9 failed: device eth9: No such device \(found instead: no such device\); retrying at the next full sync$/)).toHaveLength(2);
  });

  test('the record follows the wanted set of both parts, written only when it changes', () => {
    const w = world();
    const r = repairOf(w);
    const socket: Wanted = { program: 'kpr_connect4', hook: 'cgroup', scope: 7, progId: 11, attachPoint: '/sys/fs/cgroup', attach: () => undefined };
    r.repair.want('socket', [socket]);
    r.repair.want('edge', edgeWanted(w.dp, ['eth0'], 'auto', NETNS, () => undefined));
    r.repair.want('edge', edgeWanted(w.dp, ['eth0'], 'auto', NETNS, () => undefined));
    r.repair.want('edge', []);
    expect(r.records.map((rows) => rows.map((x) => `${x.program}@${x.device ?? x.scope}#${x.progId}`))).toEqual([
      ['kpr_connect4@7#11'],
      ['kpr_connect4@7#11', 'kpr_xdp_lb@eth0#21', 'kpr_tc_dsr_ingress@eth0#22', 'kpr_tc_dsr_egress@eth0#23'],
      ['kpr_connect4@7#11'],
    ]);
  });

  test('a kernel that cannot be read is logged, and nothing is attached blindly', () => {
    const w = world();
    const log = new MemoryLogger();
    const repair = new AttachmentRepair({ read: () => { throw new Error('opening /sys/fs/bpf/kpr/links/x: Permission denied'); }, record: () => undefined, netns: NETNS, log });
    repair.want('edge', edgeWanted(w.dp, ['eth0'], 'auto', NETNS, () => undefined));
    repair.check();
    expect(repair.places()).toBeUndefined();
    expect(w.calls).toEqual([]);
    expect(log.lines[0]).toBe('error attach: reading where the programs are failed: opening /sys/fs/bpf/kpr/links/x: Permission denied');
  });
});
