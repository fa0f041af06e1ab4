// Kubelet's cgroupRoot on this host: kubelet v1.37 runs on cgroup v1 here
// (cgroup v2 offers no controllers), and with the cgroupfs driver it expects
// its root to exist in every hierarchy; runc then also places pods under the
// cgroup2 mount, where kpr's socket LB attaches.
import * as fs from 'fs';
import * as path from 'path';
import { removeCgroup } from '../helpers/cgroup';
import { sleep } from '../helpers/sleep';

/** Every cgroup v1 hierarchy's and cgroup2's mount point, with its type. */
function cgroupFilesystems(): { mount: string; type: string }[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .flatMap((f) => {
      const type = f[f.indexOf('-') + 1];
      return f.indexOf('-') > 0 && (type === 'cgroup' || type === 'cgroup2') ? [{ mount: f[4], type }] : [];
    });
}

export function cgroupMounts(): string[] {
  return cgroupFilesystems().map((c) => c.mount);
}

/** The cgroup2 mount (/sys/fs/cgroup/unified on a hybrid layout). */
export function cgroup2Mount(): string {
  const found = cgroupFilesystems().find((c) => c.type === 'cgroup2');
  if (!found) throw new Error('no cgroup2 mount on this host: the socket LB of a node attaches there');
  return found.mount;
}

export function ensureCgroupRoot(name: string): void {
  for (const mount of cgroupMounts()) {
    const dir = path.join(mount, name);
    fs.mkdirSync(dir, { recursive: true });
    // A new v1 cpuset starts with no CPUs and no memory nodes: nothing could join it.
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const own = path.join(dir, file);
      if (fs.existsSync(own) && fs.readFileSync(own, 'utf8').trim() === '') {
        fs.writeFileSync(own, fs.readFileSync(path.join(mount, file), 'utf8'));
      }
    }
  }
}

/** Moves a node daemon (containerd, the kubelet) into the node's cgroup2
 *  subtree, beside its pods, as a real node's daemons are under the cgroup
 *  root kpr attaches to: its own connections (image pulls from a localhost
 *  NodePort) meet the node's socket LB. Its children (shims) follow it. */
export function joinNodeCgroup2(name: string, pid: number): void {
  const dir = path.join(cgroup2Mount(), name, 'kprc-daemons');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
}

function procsUnder(dir: string): number[] {
  if (!fs.existsSync(dir)) return [];
  const here = fs.readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  const below = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => procsUnder(path.join(dir, e.name)));
  return [...here, ...below];
}

const KILL_ATTEMPTS = 100;

/** SIGKILLs every process under the root (the containers), then removes it in every hierarchy. */
export async function removeCgroupRoot(name: string): Promise<void> {
  const dirs = cgroupMounts().map((m) => path.join(m, name));
  for (let attempt = 0; ; attempt++) {
    const pids = [...new Set(dirs.flatMap(procsUnder))];
    if (pids.length === 0) break;
    if (attempt >= KILL_ATTEMPTS) throw new Error(`processes ${pids.join(' ')} under cgroup ${name} survive SIGKILL`);
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    await sleep(100);
  }
  for (const dir of dirs) removeCgroup(dir);
}
