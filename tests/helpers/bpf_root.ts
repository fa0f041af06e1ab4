// Fresh --bpf-root directories. Under /sys/fs/bpf when a bpffs is mounted
// there; otherwise a temporary directory on which the agent mounts its own.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { newName } from './naming';
import { ownedPath } from './exit_cleanup';
import { run } from './run';

const SYS_BPFFS = '/sys/fs/bpf';
// A directory is never mounted on more than a few times; bounds the unmount loop.
const MAX_STACKED_MOUNTS = 4;

export interface BpfRoot {
  path: string;
  /** Unpins everything under it, unmounts an agent's bpffs, removes it; idempotent. */
  destroy(): void;
}

/** Whether something is mounted on dir: it is on another device than its parent. */
export function isMountPoint(dir: string): boolean {
  try {
    return fs.statSync(dir).dev !== fs.statSync(path.dirname(dir)).dev;
  } catch {
    return false;
  }
}

/** Whether the usual bpffs is mounted (at /sys/fs/bpf; nothing else mounts there). */
export function systemBpffsMounted(): boolean {
  return isMountPoint(SYS_BPFFS);
}

/** Directories under which bpf roots are made (and swept). */
export function bpfRootParents(): string[] {
  return systemBpffsMounted() ? [SYS_BPFFS, os.tmpdir()] : [os.tmpdir()];
}

export function createBpfRoot(prefix: string, owner: number = process.pid): BpfRoot {
  const dir = path.join(bpfRootParents()[0], newName(prefix, owner));
  fs.mkdirSync(dir);
  return ownedPath(dir, owner, removeBpfRoot);
}

// The root of a fresh bpffs holds the kernel's preloaded iterators
// (maps.debug, progs.debug), which cannot be unlinked; they go with the mount.
const PRELOADED = new Set(['maps.debug', 'progs.debug']);

export function removeBpfRoot(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const mounted = isMountPoint(dir);
  // Unpinning drops the last reference to links and maps, which detaches the
  // programs from the test cgroup even if the agent was killed. Unmounting
  // alone would not do it while a namespaced process still holds a copy of
  // the mount (ip netns exec copies the mount table).
  for (const entry of fs.readdirSync(dir)) {
    if (!(mounted && PRELOADED.has(entry))) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
  }
  for (let i = 0; i < MAX_STACKED_MOUNTS && isMountPoint(dir); i++) run('umount', [dir]);
  fs.rmSync(dir, { recursive: true, force: true });
}
