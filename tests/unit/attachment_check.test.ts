import { AttachmentFinding, checkAttachments } from '../../lib/datapath/attachment_check';
import { AttachmentView, DeviceAttachment, KernelStatus, PinnedLink, WantedAttachment } from '../../lib/datapath/native';
import { AgentHealth, attachmentRows, formatStatus, statusExitCode } from '../../lib/cli/status_report';

const NETNS = 4026531840;
const CGROUP = 7;

const connect4: WantedAttachment = { program: 'kpr_connect4', hook: 'cgroup', scope: CGROUP, progId: 11 };
const xdp: WantedAttachment = { program: 'kpr_xdp_lb', hook: 'xdp', device: 'eth0', scope: NETNS, progId: 21 };
const ingress: WantedAttachment = { program: 'kpr_tc_dsr_ingress', hook: 'tc_ingress', device: 'eth0', scope: NETNS, progId: 22 };
const egress: WantedAttachment = { program: 'kpr_tc_dsr_egress', hook: 'tc_egress', device: 'eth0', scope: NETNS, progId: 23 };

const link = (l: Partial<PinnedLink> = {}): PinnedLink => ({ name: 'kpr_connect4', program: 'kpr_connect4', progId: 11, attachType: 'cgroup_inet4_connect', cgroupId: CGROUP, ...l });
const eth0 = (d: Partial<DeviceAttachment> = {}): DeviceAttachment => ({
  device: 'eth0',
  xdp: 'kpr_xdp_lb',
  xdpId: 21,
  xdpMode: 'native',
  tcIngress: 'kpr_tc_dsr_ingr',
  tcIngressId: 22,
  tcEgress: 'kpr_tc_dsr_egre',
  tcEgressId: 23,
  ...d,
});

const found = (wanted: WantedAttachment, view: AttachmentView, netns = NETNS) => checkAttachments([wanted], view, netns)[0].found;

describe('checkAttachments: is each program where the agent wants it', () => {
  test.each<[string, Partial<PinnedLink> | undefined, string | undefined]>([
    ['its link on its cgroup with its program', {}, undefined],
    ['no link pinned under its name', undefined, 'no link pinned'],
    ['the link detached (bpftool link detach)', { cgroupId: 0 }, 'its link, detached from the cgroup'],
    ['the link on another cgroup', { cgroupId: 99 }, 'its link, on cgroup 99'],
    ['another program in the link', { program: 'evil', progId: 77 }, 'evil (id 77) in its link'],
  ])('cgroup: %s', (_name, l, want) => {
    expect(found(connect4, { links: l ? [link(l)] : [link({ name: 'kpr_sendmsg4' })], devices: [] })).toBe(want);
  });

  test.each<[string, WantedAttachment, Partial<DeviceAttachment>, string | undefined]>([
    ['XDP in place', xdp, {}, undefined],
    ['XDP detached (ip link set dev eth0 xdp off)', xdp, { xdp: undefined, xdpId: undefined, xdpMode: undefined }, 'no XDP program'],
    ['another XDP program', xdp, { xdp: 'xdp_pass', xdpId: 57 }, 'XDP program xdp_pass (id 57)'],
    ['an older kpr_xdp_lb (another id)', xdp, { xdpId: 20 }, 'XDP program kpr_xdp_lb (id 20)'],
    ['tc ingress deleted (tc filter del)', ingress, { tcIngress: undefined, tcIngressId: undefined }, "no tc ingress filter in kpr's slot (handle 1, priority 1)"],
    ['tc egress deleted, ingress left', egress, { tcEgress: undefined, tcEgressId: undefined }, "no tc egress filter in kpr's slot (handle 1, priority 1)"],
    ['tc egress in place while ingress is gone', egress, { tcIngress: undefined, tcIngressId: undefined }, undefined],
    ['another program in the tc slot', ingress, { tcIngress: 'other', tcIngressId: 5 }, 'tc ingress filter other (id 5)'],
  ])('device: %s', (_name, wanted, d, want) => {
    expect(found(wanted, { links: [], devices: [eth0(d)] })).toBe(want);
  });

  test('a device gone from the namespace, and one in another namespace, which is not looked at', () => {
    expect(found(xdp, { links: [], devices: [] })).toBe('no such device');
    expect(found(xdp, { links: [], devices: [eth0()] }, NETNS + 1)).toBe(`not checked: the device is in another network namespace (inode ${NETNS}, this is ${NETNS + 1})`);
  });

  test('every wanted program gets one finding, in order, carrying the caller\'s own row', () => {
    const rows = [connect4, xdp, ingress, egress].map((w, i) => ({ ...w, attachPoint: `p${i}` }));
    const findings = checkAttachments(rows, { links: [link()], devices: [eth0({ xdpId: undefined })] }, NETNS);
    expect(findings.map((f) => [f.wanted.attachPoint, f.found])).toEqual([
      ['p0', undefined],
      ['p1', 'no XDP program'],
      ['p2', undefined],
      ['p3', undefined],
    ]);
  });
});

describe('kpr status: the programs section and the exit status', () => {
  const healthy: AgentHealth = { address: '127.0.0.1:10256', status: 200, lastUpdated: '2025-01-02 03:04:05 +0000 UTC' };
  const kernel: KernelStatus = { maps: [], links: [link()], devices: [eth0({ xdp: undefined, xdpId: undefined })], wanted: [connect4, xdp] };
  const findings: AttachmentFinding[] = checkAttachments(kernel.wanted, kernel, NETNS);

  test('a program not in place is named with what is there instead, and status exits 1 even with a healthy agent', () => {
    const text = formatStatus(healthy, kernel, findings);
    expect(text).toContain('programs: 1 of 2 not where the agent wants them\n');
    expect(text).toMatch(/^PROGRAM +HOOK +WHERE +FOUND INSTEAD\n/m);
    expect(text).toMatch(/^kpr_xdp_lb +xdp +eth0 +no XDP program$/m);
    expect(statusExitCode(healthy, findings)).toBe(1);
    expect(attachmentRows(findings)).toEqual([
      { program: 'kpr_connect4', hook: 'cgroup', where: `cgroup ${CGROUP}`, inPlace: true, found: undefined },
      { program: 'kpr_xdp_lb', hook: 'xdp', where: 'eth0', inPlace: false, found: 'no XDP program' },
    ]);
  });

  test('all in place: 0 with a healthy agent, 1 without one', () => {
    const all = checkAttachments(kernel.wanted, { ...kernel, devices: [eth0()] }, NETNS);
    expect(formatStatus(healthy, kernel, all)).toContain('programs: all 2 where the agent wants them\n');
    expect(statusExitCode(healthy, all)).toBe(0);
    expect(statusExitCode({ address: '127.0.0.1:10256', error: 'connect ECONNREFUSED' }, all)).toBe(1);
    expect(statusExitCode({ ...healthy, status: 503 }, all)).toBe(1);
  });

  test('no record of what the agent wants says so', () => {
    expect(formatStatus(healthy, { ...kernel, wanted: [] }, [])).toContain('programs: no record of where the agent wants them');
  });
});
