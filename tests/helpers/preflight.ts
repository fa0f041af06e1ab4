// What privileged tests need. The runner and every datapath suite fail with
// this list when something is missing; they never skip.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { findCgroup2Root } from './cgroup';
import { systemBpffsMounted } from './bpf_root';
import { newName } from './naming';
import { run } from './run';

function bpffsProblem(): string | undefined {
  if (systemBpffsMounted()) return undefined;
  const dir = path.join(os.tmpdir(), newName('preflight'));
  fs.mkdirSync(dir);
  try {
    run('mount', ['-t', 'bpf', 'bpf', dir]);
    run('umount', [dir]);
    return undefined;
  } catch (e) {
    return `bpffs (none mounted, and mounting one failed: ${(e as Error).message})`;
  } finally {
    fs.rmdirSync(dir);
  }
}

/** Human-readable list of what is missing; empty when privileged tests can run. */
export function missingPrivileges(): string[] {
  const missing: string[] = [];
  const uid = process.getuid?.();
  if (uid !== 0) missing.push(`root (running as uid ${uid})`);
  if (!findCgroup2Root()) missing.push('cgroup v2 (no cgroup2 mount in /proc/self/mountinfo)');
  const bpffs = bpffsProblem();
  if (bpffs) missing.push(bpffs);
  try {
    run('ip', ['netns', 'list']);
  } catch (e) {
    missing.push(`network namespaces (${(e as Error).message})`);
  }
  return missing;
}

/** For a datapath suite's beforeAll: throws naming everything that is missing. */
export function assertPrivileged(): void {
  const missing = missingPrivileges();
  if (missing.length > 0) throw new Error(`privileged tests need: ${missing.join('; ')}`);
}
