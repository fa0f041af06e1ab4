// A process's command line as its arguments, from /proc.
import * as fs from 'fs';

/** undefined once the process is gone; [] for a zombie (it no longer runs) or a kernel thread. */
export function processArgv(pid: number | string): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}
