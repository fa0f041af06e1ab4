// The BPF filesystem under --bpf-root, where maps and links are pinned so
// that they outlive the agent. A fresh node may not have it mounted.
import * as fs from 'fs';
import * as path from 'path';
import { fsType, mountFs } from './mount';
import { Logger } from '../log';

const BPF_FS_MAGIC = 0xcafe4a11;

/** Where kpr pins under bpfRoot: its maps, and the links of its cgroup programs. */
export function pinPaths(bpfRoot: string): { maps: string; links: string } {
  return { maps: path.join(bpfRoot, 'kpr', 'maps'), links: path.join(bpfRoot, 'kpr', 'links') };
}

/** Makes sure root is on a bpffs: a mount point or a directory inside one
 *  (statfs says which filesystem a path is on, mounted there or above). */
export function ensureBpffs(root: string, log: Logger): void {
  fs.mkdirSync(root, { recursive: true });
  if (fsType(root) === BPF_FS_MAGIC) return;
  mountFs('bpf', root, '--bpf-root');
  log.info(`mounted bpffs at ${root}`);
}

/** Pinned maps and links are root's only: whoever could write a map would
 *  steer every service of the node, whoever could read one would see every
 *  backend. The kernel pins with mode 0600 and the addon makes its
 *  directories 0700, but a directory or pin that was there before keeps its
 *  mode: directories are tightened before anything is pinned in them... */
export function privatePinDirs(dirs: string[]): void {
  for (const dir of dirs) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.chmodSync(dir, 0o700);
  }
}

/** ...and pins once the datapath has made or adopted them. */
export function privatePins(dirs: string[]): void {
  for (const dir of dirs) {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (!entry.isDirectory()) fs.chmodSync(path.join(dir, entry.name), 0o600);
  }
}
