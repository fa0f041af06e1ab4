// `kpr cleanup` (kube-proxy's --cleanup): everything kpr leaves on a node,
// since its state outlives the agent by design, taken away, and said: its
// programs on the XDP hooks and tc slots of this namespace's devices (the
// node's and the pods'), the managed neighbour entries it keeps for the
// edge LB, the nat table it keeps for connections another proxy translated
// (inherited_nat.ts), and its pins (the cgroup links, detached as their last
// reference goes, and the maps) under --bpf-root. Run it where the agent
// ran, after the agent stopped: a running agent puts everything back.
import * as fs from 'fs';
import * as path from 'path';
import { pinPaths } from './bpffs';
import { deleteInheritedNatTable, INHERITED_NAT_TABLE } from './inherited_nat';
import { kernelNeighbours, managedNeighbours, Nexthop } from './node_neighbours';

export interface CleanupReport {
  /** What was taken away, one line each. */
  removed: string[];
  /** What could not be, one line each. */
  errors: string[];
}

export interface CleanupDeps {
  detachDevices(): string[];
  neighbours(): Nexthop[];
  forget(hop: Nexthop): void;
  /** Deletes kpr's inherited-NAT table; whether there was one. */
  deleteNatTable(): boolean;
}

const errorText = (e: unknown) => (e as Error).message.trim();

function removePins(bpfRoot: string, report: CleanupReport): void {
  const { maps, links } = pinPaths(bpfRoot);
  for (const dir of [links, maps]) {
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir).sort();
    } catch {
      continue; // never made, or already gone
    }
    for (const name of names) {
      const pin = path.join(dir, name);
      try {
        fs.unlinkSync(pin);
        report.removed.push(`pin ${pin}`);
      } catch (e) {
        report.errors.push(`pin ${pin}: ${errorText(e)}`);
      }
    }
  }
  for (const dir of [links, maps, path.dirname(maps)]) {
    try {
      fs.rmdirSync(dir);
      report.removed.push(`directory ${dir}`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') report.errors.push(`directory ${dir}: ${errorText(e)}`);
    }
  }
}

export function cleanupNode(bpfRoot: string, deps: CleanupDeps): CleanupReport {
  const report: CleanupReport = { removed: [], errors: [] };
  try {
    report.removed.push(...deps.detachDevices());
  } catch (e) {
    report.errors.push(`devices: ${errorText(e)}`);
  }
  try {
    for (const hop of deps.neighbours()) {
      deps.forget(hop);
      report.removed.push(`neighbour ${hop.addr} on ${hop.dev}`);
    }
  } catch (e) {
    report.errors.push(`neighbours: ${errorText(e)}`);
  }
  try {
    if (deps.deleteNatTable()) report.removed.push(`nftables table inet ${INHERITED_NAT_TABLE}`);
  } catch (e) {
    report.errors.push(`nftables table inet ${INHERITED_NAT_TABLE}: ${errorText(e)}`);
  }
  removePins(bpfRoot, report);
  return report;
}

/** The node's own kernel as cleanupNode reaches it. */
export function kernelCleanupDeps(detachDevices: () => string[]): CleanupDeps {
  return { detachDevices, neighbours: managedNeighbours, forget: (hop) => kernelNeighbours.forget(hop), deleteNatTable: deleteInheritedNatTable };
}
