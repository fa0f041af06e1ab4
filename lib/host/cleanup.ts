// `kpr cleanup` (kube-proxy's --cleanup): everything kpr leaves on a node,
// since its state outlives the agent by design, taken away, and said. First
// the flows its edge programs carry are handed to the node's conntrack, so
// that the proxy after kpr carries them on (native/src/conntrack_handover.h);
// then its programs on the XDP hooks and tc slots of this namespace's devices (the
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

/** What the addon's handOverEdgeFlows wrote into the node's conntrack (native/src/conntrack_handover.h). */
export interface ConntrackHandover {
  /** snat flows (to backends on other nodes), translated both ways. */
  snat: number;
  /** Flows to backends on this node, destination translated. */
  local: number;
  /** Of those, how many replaced the untranslated entry their packets had made. */
  replaced: number;
  /** TCP flows closed both ways or reset, left out. */
  closed: number;
  failed: number;
  /** The first few failures, each naming its flow. */
  errors: string[];
}

export interface CleanupReport {
  /** The flows handed to the node's conntrack, in one line (none when there were none). */
  handedOver: string[];
  /** Flows that could not be, one line each (the first few named). */
  notHandedOver: string[];
  /** What was taken away, one line each. */
  removed: string[];
  /** What could not be, one line each. */
  errors: string[];
}

export interface CleanupDeps {
  /** Writes the edge LB's flows pinned under mapDir into the node's conntrack. */
  handOver(mapDir: string): ConntrackHandover;
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

function handOverFlows(bpfRoot: string, deps: CleanupDeps, report: CleanupReport): void {
  let h: ConntrackHandover;
  try {
    h = deps.handOver(pinPaths(bpfRoot).maps);
  } catch (e) {
    report.notHandedOver.push(`flows: ${errorText(e)}`);
    return;
  }
  const written = h.snat + h.local;
  if (written > 0 || h.closed > 0) {
    const replaced = h.replaced > 0 ? `, ${h.replaced} of them replacing their untranslated entry` : '';
    report.handedOver.push(
      `handed ${written} flows to the node's conntrack (${h.snat} snat, ${h.local} to backends on this node${replaced}); ${h.closed} closed ones left out`,
    );
  }
  report.notHandedOver.push(...h.errors.map((e) => `flow ${e}`));
  if (h.failed > h.errors.length) report.notHandedOver.push(`${h.failed - h.errors.length} more flows`);
}

export function cleanupNode(bpfRoot: string, deps: CleanupDeps): CleanupReport {
  const report: CleanupReport = { handedOver: [], notHandedOver: [], removed: [], errors: [] };
  // While the programs are attached they carry the flows: conntrack's entries
  // wait unused until the programs go, right after.
  handOverFlows(bpfRoot, deps, report);
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
export function kernelCleanupDeps(detachDevices: () => string[], handOver: (mapDir: string) => ConntrackHandover): CleanupDeps {
  return { handOver, detachDevices, neighbours: managedNeighbours, forget: (hop) => kernelNeighbours.forget(hop), deleteNatTable: deleteInheritedNatTable };
}
