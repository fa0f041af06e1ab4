// The cgroup v2 directory the socket programs attach to. Its place differs
// between nodes: /sys/fs/cgroup on a unified layout, /sys/fs/cgroup/unified
// on a hybrid one, or nowhere; /proc/self/mountinfo says which.
import * as fs from 'fs';
import { fsType, mountFs } from './mount';
import { Logger } from '../log';

const CGROUP2_SUPER_MAGIC = 0x63677270;
/** Where kpr mounts cgroup v2 when the node has no mount of it. */
export const FALLBACK_CGROUP_ROOT = '/run/kpr/cgroupv2';

// mountinfo escapes space, tab, newline and backslash as \ooo.
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** The first cgroup2 mount point in a mountinfo text. Fields: id, parent,
 *  dev, root, mount point, options, optional fields, "-", fstype, source. */
export function cgroup2MountPoint(mountinfo: string): string | undefined {
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep > 4 && fields[sep + 1] === 'cgroup2') return unescape(fields[4]);
  }
  return undefined;
}

/** --cgroup-root if given (it must be cgroup v2), else the node's cgroup v2
 *  mount, else a new one at FALLBACK_CGROUP_ROOT. */
export function resolveCgroupRoot(flag: string | undefined, log: Logger): string {
  if (flag !== undefined) {
    if (!fs.existsSync(flag)) throw new Error(`--cgroup-root ${flag}: no such directory`);
    if (fsType(flag) !== CGROUP2_SUPER_MAGIC) throw new Error(`--cgroup-root ${flag}: not a cgroup v2 directory`);
    return flag;
  }
  const found = cgroup2MountPoint(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
  if (found) return found;
  mountFs('cgroup2', FALLBACK_CGROUP_ROOT, '--cgroup-root');
  log.info(`no cgroup v2 mount found; mounted one at ${FALLBACK_CGROUP_ROOT}`);
  return FALLBACK_CGROUP_ROOT;
}
