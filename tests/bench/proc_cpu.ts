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

/** The pids of pid's children, from its threads' children lists. */
export function childPids(pid: number): number[] {
  return fs.readdirSync(`/proc/${pid}/task`).flatMap((task) => {
    const children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    return children ? children.split(/\s+/).map(Number) : [];
  });
}

/** Its own CPU seconds and its waited-for children's, summed. */
export function totalCpuSeconds(pid: number): number {
  const c = cpuSeconds(pid);
  return c.self + c.children;
}

export function cpuSeconds(pid: number): CpuSeconds {
  const f = statFields(pid);
  // utime, stime, cutime, cstime are fields 14-17 of stat.
  return { self: (f[11] + f[12]) / TICKS_PER_SECOND, children: (f[13] + f[14]) / TICKS_PER_SECOND };
}

/** What pid's children now running are doing: "command line (N s of CPU)" each,
 *  e.g. the iptables-restore kube-proxy waits for. */
export function runningChildren(pid: number): string[] {
  return childPids(pid).flatMap((child) => {
    try {
      const cmdline = fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      return [`${cmdline} (${cpuSeconds(child).self.toFixed(0)} s of CPU)`];
    } catch {
      return []; // it ended while we looked
    }
  });
}
