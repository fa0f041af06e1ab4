// Where the day-two load's clients run on make cluster. They are processes of
// this host that join what a client of each kind has: a pod's cgroup and
// network namespace (its own processes' view; the socket LB attaches at the
// node's cgroup2 subtree, above the pod's), a cgroup of the node's subtree in
// the node's namespace (a hostNetwork pod), or a cgroup outside every node in
// the host's namespace (a client outside the cluster). So the load reuses the
// test clients (tests/helpers/client.ts) unchanged and needs no image.
import * as fs from 'fs';
import * as path from 'path';
import { cgroup2Root, createTestCgroup, removeCgroup } from '../helpers/cgroup';
import { Place } from '../helpers/client_runner';
import { ownedPath } from '../helpers/exit_cleanup';
import { newName } from '../helpers/naming';
import { Kubectl } from './kubectl';
import { NodeLayout, netnsPath } from './layout';

/** The pid of a container on this host: the process whose cgroup2 path ends with its id. */
function containerPid(containerId: string): { pid: number; cgroup: string } {
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cgroups: string;
    try {
      cgroups = fs.readFileSync(`/proc/${entry}/cgroup`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    const v2 = cgroups.split('\n').find((l) => l.startsWith('0::'));
    if (v2?.trimEnd().endsWith(containerId)) return { pid: Number(entry), cgroup: v2.slice(3).trim() };
  }
  throw new Error(`no process of container ${containerId} on this host`);
}

/** A running pod's first container: its cgroup, and its network namespace by path. */
export function podPlace(kubectl: Kubectl, namespace: string, pod: string): Place {
  const status = JSON.parse(kubectl(['get', 'pod', '-n', namespace, pod, '-o', 'jsonpath={.status.containerStatuses[0]}'])) as { containerID?: string; state?: { running?: object } };
  if (!status.state?.running || !status.containerID) throw new Error(`pod ${namespace}/${pod} has no running container`);
  const { pid, cgroup } = containerPid(status.containerID.replace(/^\w+:\/\//, ''));
  return { cgroup: path.join(cgroup2Root(), cgroup), ns: `/proc/${pid}/ns/net` };
}

export interface OwnedPlace extends Place {
  release(): void;
}

/** A hostNetwork client of node: a cgroup of its own in the node's subtree, the node's namespace. */
export function nodePlace(node: NodeLayout): OwnedPlace {
  const dir = path.join(cgroup2Root(), node.name, newName('day2-host'));
  fs.mkdirSync(dir);
  const owned = ownedPath(dir, process.pid, removeCgroup);
  return { cgroup: dir, ns: netnsPath(node), release: () => owned.destroy() };
}

/** A client outside the cluster: this host's namespace, a cgroup outside every node. */
export function outsidePlace(): OwnedPlace {
  const cgroup = createTestCgroup('day2-outside');
  return { cgroup: cgroup.path, ns: '-', release: () => cgroup.destroy() };
}
