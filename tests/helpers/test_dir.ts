// Scratch directories of tests that start long-lived processes on files in
// them (the e2e control plane: certificates, etcd's data). They are named like
// every test resource, under one parent of their own, so that a sweep can tell
// which belong to exited owners (leftovers.ts) without mistaking bpf roots.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { newName } from './naming';
import { ownedPath } from './exit_cleanup';

export interface TestDir {
  path: string;
  /** Removes the directory and everything in it; idempotent. */
  destroy(): void;
}

/** The one directory under which test dirs are made (and swept). */
export function testDirParent(): string {
  return path.join(os.tmpdir(), 'kpr-test-dirs');
}

export function createTestDir(prefix: string, owner: number = process.pid): TestDir {
  fs.mkdirSync(testDirParent(), { recursive: true, mode: 0o700 });
  const dir = path.join(testDirParent(), newName(prefix, owner));
  fs.mkdirSync(dir, { mode: 0o700 });
  return ownedPath(dir, owner, removeTestDir);
}

export function removeTestDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Names (not paths) of the test dirs that exist now. */
export function listTestDirs(): string[] {
  return fs.existsSync(testDirParent()) ? fs.readdirSync(testDirParent()) : [];
}
