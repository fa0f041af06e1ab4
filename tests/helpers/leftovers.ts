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
import { ip, run } from './run';

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

/** Devices of this (the host's) network namespace carrying kpr's XDP program
 *  or tc filters, as "xdp DEV" / "tc DEV". Tests attach only inside their
 *  own namespaces, so one that appears during a run is a test's leak. */
export function hostAttachments(): string[] {
  const out: string[] = [];
  const devices = (JSON.parse(ip('-j', '-d', 'link', 'show')) as { ifname: string; xdp?: { prog?: { name?: string } } }[]);
  for (const d of devices) {
    if (d.xdp?.prog?.name?.startsWith('kpr_')) out.push(`xdp ${d.ifname}`);
    const filters = ['ingress', 'egress'].map((dir) => run('tc', ['filter', 'show', 'dev', d.ifname, dir])).join('\n');
    if (filters.includes('kpr_tc_')) out.push(`tc ${d.ifname}`);
  }
  return out;
}

/** Takes kpr's programs off a device of the host (see hostAttachments). */
export function detachHost(attachment: string): void {
  const [what, dev] = attachment.split(' ');
  if (what === 'xdp') for (const mode of ['xdpgeneric', 'xdpdrv']) ip('link', 'set', 'dev', dev, mode, 'off');
  else for (const dir of ['ingress', 'egress']) run('tc', ['filter', 'del', 'dev', dev, dir, 'pref', '1', 'handle', '1', 'bpf']);
}
