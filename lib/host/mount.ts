// Mounting the kernel filesystems the datapath needs when the node has not.
import { execFileSync } from 'child_process';
import * as fs from 'fs';

/** mount -t <type> <type> <dir>, creating dir; the error names the flag the directory came from. */
export function mountFs(type: string, dir: string, flag: string): void {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', type, type, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`${flag} ${dir}: mounting ${type} failed: ${stderr || (e as Error).message}`);
  }
}

/** The filesystem magic number of the filesystem dir is on. */
export function fsType(dir: string): number {
  return Number(fs.statfsSync(dir).type);
}
