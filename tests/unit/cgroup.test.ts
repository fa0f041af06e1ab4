import { cgroup2MountPoint } from '../../lib/host/cgroup';

describe('finding the cgroup v2 mount in mountinfo', () => {
  const hybrid = [
    '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:4 - cgroup2 cgroup2 rw',
    '42 23 0:39 / /sys/fs/bpf rw,relatime - bpf bpf rw',
  ].join('\n');
  const unified = '35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n';
  const escaped = '35 24 0:30 / /run/my\\040cgroup rw - cgroup2 none rw\n';
  const v1only = '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n';

  test.each([
    ['hybrid layout', hybrid, '/sys/fs/cgroup/unified'],
    ['unified layout', unified, '/sys/fs/cgroup'],
    ['escaped space', escaped, '/run/my cgroup'],
    ['cgroup v1 only', v1only, undefined],
    ['empty', '', undefined],
  ])('%s', (_name, text, want) => {
    expect(cgroup2MountPoint(text)).toBe(want);
  });
});
