// The BPF filesystem under --bpf-root, where maps and links are pinned so
// that they outlive the agent. A fresh node may not have it mounted.
import * as fs from 'fs';
import { fsType, mountFs } from './datapath/mount';
import { Logger } from './log';

const BPF_FS_MAGIC = 0xcafe4a11;

/** Makes sure root is on a bpffs: a mount point or a directory inside one
 *  (statfs says which filesystem a path is on, mounted there or above). */
export function ensureBpffs(root: string, log: Logger): void {
  fs.mkdirSync(root, { recursive: true });
  if (fsType(root) === BPF_FS_MAGIC) return;
  mountFs('bpf', root, '--bpf-root');
  log.info(`mounted bpffs at ${root}`);
}
