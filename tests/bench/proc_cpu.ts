// CPU seconds a process has used, from /proc/<pid>/stat: its own (utime +
// stime) and that of its children it has waited for (cutime + cstime: the
// iptables-restore and nft runs of kube-proxy).
import * as fs from 'fs';

/** USER_HZ: the unit of /proc/<pid>/stat's times on every Linux architecture we run on. */
const TICKS_PER_SECOND = 100;

export interface CpuSeconds {
  self: number;
  children: number;
}

export function cpuSeconds(pid: number): CpuSeconds {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  // utime, stime, cutime, cstime are fields 14-17 of stat, 12-15 here (0-based from field 3).
  return { self: (f[11] + f[12]) / TICKS_PER_SECOND, children: (f[13] + f[14]) / TICKS_PER_SECOND };
}
