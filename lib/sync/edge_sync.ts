// The edge LB's part of a sync: this node's tunnel addresses and the hash
// seed in the XDP program's config, the program on the node's devices, and
// the edge frontends in its maps, all from the same desired state as the
// socket LB's.
import { EdgeReconciler } from '../datapath/edge/reconciler';
import { EdgeConfig, EdgeDatapath, FlowTimeouts, PortRange, XdpAttachMode } from '../datapath/native';
import { settleMigrations } from '../datapath/map_migrations';
import { attachDevices } from '../datapath/edge/attach';
import { detectDevices } from '../host/devices';
import { NodeNeighbours } from '../host/node_neighbours';
import { Logger } from '../log';
import { stopwatch } from '../stopwatch';
import { DesiredState } from '../model/desired';
import { ExternalFrontend } from '../model/frontend';
import { ipFamily } from '../model/ip_address';
import { NodeContext } from '../model/node';
import { AttachmentRepair, edgeWanted } from './attachment_repair';
import { CapacityReport } from './capacity';
import { RunKind } from './runner';

export interface EdgeSyncOptions {
  dp: Pick<EdgeDatapath, 'setConfig' | 'attachXdp' | 'attachTc' | 'settleMigratedMaps' | 'programIds'>;
  reconciler: EdgeReconciler;
  hashSeed: number;
  /** How long flows' state lives, and the ports of snat flows. */
  flows: FlowSettings;
  mode: XdpAttachMode;
  /** undefined: the interfaces holding the node's addresses, found again when they change. */
  devices?: string[];
  /** Keeps the other nodes that host backends resolved for bpf_fib_lookup. */
  neighbours: Pick<NodeNeighbours, 'sync'>;
  log: Logger;
  /** Where edge frontends that do not fit are reported. */
  capacity: CapacityReport;
  /** Told which devices the programs belong on, at every sync; it puts
   *  them back when they go missing. */
  repair: Pick<AttachmentRepair, 'want'>;
  /** The inode of the agent's network namespace, where the devices are. */
  netns: number;
}

/** The other nodes that host a backend of some edge frontend. */
export function backendNodes(frontends: ExternalFrontend[]): Set<string> {
  return new Set(frontends.flatMap((f) => f.externalBackends.flatMap((b) => (b.nodeAddr ? [b.nodeAddr] : []))));
}

export interface FlowSettings {
  timeouts: FlowTimeouts;
  snatPorts: PortRange[];
}

/** The program's config for this node: its first address of each family is
 *  the outer source of the tunnels to other nodes, and of snat flows. */
export function edgeConfig(node: NodeContext, hashSeed: number, flows: FlowSettings): EdgeConfig {
  const first = (family: string) => node.addresses.find((a) => ipFamily(a) === family);
  return { nodeAddr4: first('IPv4'), nodeAddr6: first('IPv6'), hashSeed, ...flows };
}

export class EdgeSync {
  private config = '';
  private devices = new Set<string>();

  constructor(private readonly o: EdgeSyncOptions) {}

  sync(desired: DesiredState, node: NodeContext, kind: RunKind): void {
    const elapsed = stopwatch();
    const cfg = edgeConfig(node, this.o.hashSeed, this.o.flows);
    const text = JSON.stringify(cfg);
    if (text !== this.config) {
      this.o.dp.setConfig(cfg);
      this.config = text;
      this.o.log.info(`edge: node addresses ${cfg.nodeAddr4 ?? 'none'} (IPv4), ${cfg.nodeAddr6 ?? 'none'} (IPv6), hash seed ${cfg.hashSeed}`);
    }
    this.attach(this.o.devices ?? detectDevices(node.addresses));
    this.o.neighbours.sync(backendNodes(desired.edgeFrontends));
    const r = kind === 'full' ? this.o.reconciler.repair(desired.edgeFrontends) : this.o.reconciler.sync(desired.edgeFrontends);
    this.o.capacity.report('edge', r.skipped);
    const line = `edge: ${r.services} services, ${r.frontends} frontends, ${r.backends} backends, ${r.writes} writes in ${elapsed().toFixed(1)}ms${r.skipped.length > 0 ? `, ${r.skipped.length} skipped` : ''}`;
    if (r.writes > 0 || r.skipped.length > 0) this.o.log.info(line);
    else this.o.log.debug(line);
  }

  /** The one place the edge LB goes onto the devices: each new one at
   *  once, and from then on the full sync's repair keeps it there (and
   *  retries a device whose first attach failed). */
  private attach(devices: string[]): void {
    const fresh = devices.filter((d) => !this.devices.has(d));
    if (fresh.length === 0 && devices.length === this.devices.size) return;
    this.devices = new Set(devices);
    const settle = () => settleMigrations(this.o.dp, this.o.log);
    if (attachDevices(this.o.dp, fresh, this.o.mode, this.o.log).length > 0) settle();
    this.o.repair.want('edge', edgeWanted(this.o.dp, devices, this.o.mode, this.o.netns, settle));
  }
}
