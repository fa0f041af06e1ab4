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

/** Fields of /proc/<pid>/stat after the command name (in parentheses, may hold spaces): field 3 is [0]. */
function statFields(pid: number): number[] {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
}

export function cpuSeconds(pid: number): CpuSeconds {
  const f = statFields(pid);
  // utime, stime, cutime, cstime are fields 14-17 of stat.
  return { self: (f[11] + f[12]) / TICKS_PER_SECOND, children: (f[13] + f[14]) / TICKS_PER_SECOND };
}

/** What pid's children now running are doing: "command line (N s of CPU)" each,
 *  e.g. the iptables-restore kube-proxy waits for. */
export function runningChildren(pid: number): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const f = statFields(Number(entry));
      // ppid is field 4 of stat.
      if (f[1] !== pid) continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push(`${cmdline} (${((f[11] + f[12]) / TICKS_PER_SECOND).toFixed(0)} s of CPU)`);
    } catch {
      // It ended while we looked.
    }
  }
  return out;
}
