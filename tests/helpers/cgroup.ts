// Test cgroups: the agent attaches its socket programs to one with
// --cgroup-root, so only the test's clients are load balanced.
import * as fs from 'fs';
import * as path from 'path';
import { cgroup2MountPoint } from '../../lib/host/cgroup';
import { newName } from './naming';
import { ownedPath } from './exit_cleanup';
import { sleepSync } from './sleep';

export interface TestCgroup {
  path: string;
  /** Moves leftover processes to the parent and removes the cgroup; idempotent. */
  destroy(): void;
}

/** Where cgroup v2 is mounted (may be /sys/fs/cgroup/unified on hybrid hosts), if anywhere. */
export function findCgroup2Root(): string | undefined {
  return cgroup2MountPoint(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}

export function cgroup2Root(): string {
  const root = findCgroup2Root();
  if (!root) throw new Error('no cgroup v2 mount in /proc/self/mountinfo');
  return root;
}

export function createTestCgroup(prefix: string, owner: number = process.pid): TestCgroup {
  const dir = path.join(cgroup2Root(), newName(prefix, owner));
  fs.mkdirSync(dir);
  return ownedPath(dir, owner, removeCgroup);
}

function moveProcsToParent(dir: string): void {
  const parentProcs = path.join(path.dirname(dir), 'cgroup.procs');
  for (const pid of fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
    try {
      fs.writeFileSync(parentProcs, pid);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
    }
  }
}

// The kernel updates a cgroup's populated state asynchronously after its last
// task exits, so rmdir can report EBUSY for a moment.
const RMDIR_ATTEMPTS = 50;
const RMDIR_RETRY_MS = 20;

/** Removes dir and any child cgroups, deepest first; a no-op once it is gone. */
export function removeCgroup(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroup(path.join(dir, entry.name));
  }
  for (let attempt = 1; ; attempt++) {
    moveProcsToParent(dir);
    try {
      fs.rmdirSync(dir);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EBUSY' || attempt === RMDIR_ATTEMPTS) {
        throw new Error(`removing cgroup ${dir}: ${(e as Error).message}`);
      }
      sleepSync(RMDIR_RETRY_MS);
    }
  }
}
