// make cluster-down: stops and removes everything make cluster made, and only
// that, so the host is as it was before: processes (daemons, shims,
// containers), the nodes' cgroups, namespaces, links and routes, leftover
// mounts, the state dir and the published kubeconfig. Safe to repeat.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { removeCgroupRoot } from './cgroups';
import { CONTROL_PLANE_DAEMONS } from './control_plane';
import { killAndWait, processesOfState, stopDaemon } from './daemon';
import { hostNetDown } from './host_net';
import { say } from './log';
import { ADMIN_KUBECONFIG, LB_PROVIDER, NODES, stateDir } from './layout';
import { containerdName, kubeletName } from './node';

// Node mounts live in the nodes' own mount namespace; any found here leaked.
function leakedMounts(): string[] {
  const roots = [stateDir()];
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && roots.some((r) => m === r || m.startsWith(`${r}/`)))
    .reverse();
}

/** The nodes stopped and gone with all their containers, programs and
 *  network state (their namespaces go too); their image stores stay, so
 *  the next make cluster starts them afresh without importing again. */
export async function nodesDown(): Promise<void> {
  for (const node of NODES) {
    say(`stopping ${node.name}`);
    await stopDaemon(kubeletName(node));
    await stopDaemon(containerdName(node));
    // containerd's shims outlive it; they name its socket, in the node's dir.
    const rest = processesOfState(node.dir);
    if (rest.length) say(`killing ${rest.length} more processes of ${node.name} (shims)`);
    await killAndWait(rest, 5_000);
    say(`removing cgroup /${node.name} (and its containers)`);
    await removeCgroupRoot(node.name);
  }
  say('removing node namespaces and links');
  hostNetDown({ keepBridge: true });
}

async function main(): Promise<void> {
  const state = stateDir();
  if (!fs.existsSync(state)) {
    say('no cluster state; removing any network leftovers');
    hostNetDown();
    return;
  }
  await nodesDown();
  for (const name of [LB_PROVIDER, 'coredns', ...CONTROL_PLANE_DAEMONS]) {
    say(`stopping ${name}`);
    await stopDaemon(name);
  }
  await killAndWait(processesOfState(), 5_000);
  for (const m of leakedMounts()) {
    say(`unmounting leaked ${m}`);
    execFileSync('umount', ['-l', m]);
  }
  say('removing namespaces, links and routes');
  hostNetDown();
  fs.rmSync(ADMIN_KUBECONFIG, { force: true });
  const kubeDir = path.dirname(ADMIN_KUBECONFIG);
  if (fs.existsSync(path.join(state, 'made-dot-kube')) && fs.readdirSync(kubeDir).length === 0) fs.rmdirSync(kubeDir);
  say(`removing ${state}`);
  fs.rmSync(state, { recursive: true, force: true });
  say('down');
}

if (require.main === module) main().catch((e: Error) => {
  console.error(`cluster: ${e.message}`);
  process.exit(1);
});
