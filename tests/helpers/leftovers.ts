// Removes what tests made for owners that match: a given owner (the testbed
// CLI's `down`), or owners that have exited (a run killed before teardown, or
// any jest run, whose sandbox never sees process exit events).
import * as fs from 'fs';
import * as path from 'path';
import { isAlive, ownerOf, ownersMentioned } from './naming';
import { listNamespaces, removeNamespace } from './netns';
import { findCgroup2Root, removeCgroup } from './cgroup';
import { bpfRootParents, removeBpfRoot } from './bpf_root';
import { listTestDirs, removeTestDir, testDirParent } from './test_dir';

type OwnerTest = (pid: number) => boolean;

export interface RemovalReport {
  removed: string[];
  errors: string[];
}

function owned(names: string[], owns: OwnerTest): string[] {
  return names.filter((name) => {
    const pid = ownerOf(name);
    return pid !== undefined && owns(pid);
  });
}

// Processes outside the namespaces (an agent given --bpf-root, a client given
// the cgroup path, the e2e control plane's etcd and kube-apiserver given files
// in a test dir) are found by the resource names on their command line.
function processesNaming(owns: OwnerTest): number[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => {
      try {
        return ownersMentioned(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')).some(owns);
      } catch {
        return false; // exited meanwhile
      }
    })
    .map(Number);
}

function attempt(report: RemovalReport, what: string, remove: () => void): void {
  try {
    remove();
    report.removed.push(what);
  } catch (e) {
    report.errors.push(`${what}: ${(e as Error).message}`);
  }
}

function removeOwned(owns: OwnerTest): RemovalReport {
  const report: RemovalReport = { removed: [], errors: [] };
  for (const pid of processesNaming(owns)) attempt(report, `process ${pid}`, () => process.kill(pid, 'SIGKILL'));
  for (const ns of owned(listNamespaces(), owns)) attempt(report, `netns ${ns}`, () => removeNamespace(ns));
  const cgroupRoot = findCgroup2Root();
  for (const name of cgroupRoot ? owned(fs.readdirSync(cgroupRoot), owns) : []) {
    const dir = path.join(cgroupRoot as string, name);
    attempt(report, `cgroup ${dir}`, () => removeCgroup(dir));
  }
  // After the processes: a killed etcd no longer writes into its data dir.
  for (const name of owned(listTestDirs(), owns)) {
    const dir = path.join(testDirParent(), name);
    attempt(report, `test dir ${dir}`, () => removeTestDir(dir));
  }
  for (const parent of bpfRootParents()) {
    for (const name of owned(fs.readdirSync(parent), owns)) {
      const dir = path.join(parent, name);
      attempt(report, `bpf root ${dir}`, () => removeBpfRoot(dir));
    }
  }
  return report;
}

export function removeOwnedBy(owner: number): RemovalReport {
  return removeOwned((pid) => pid === owner);
}

export function sweepLeftovers(): RemovalReport {
  return removeOwned((pid) => !isAlive(pid));
}
