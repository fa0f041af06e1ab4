// The edge LB's part of a sync: this node's tunnel addresses and the hash
// seed in the XDP program's config, the program on the node's devices, and
// the edge frontends in its maps, all from the same desired state as the
// socket LB's; and how the agent opens it.
import * as path from 'path';
import { EdgeConfig, EdgeDatapath, EdgeOpenOptions, FlowTimeouts, loadAddon, PortRange, XdpAttachMode } from '../native';
import { logMigrations, settleMigrations } from '../map_migrations';
import { attachDevices, attachMode, attachPodInterfaces } from './attach';
import { detectDevices } from '../../host/devices';
import { LinkEvents, LinkInfo, PodInterfaceChoice, podInterfaces, readLinks } from '../../host/pod_interfaces';
import { NodeNeighbours } from '../../host/node_neighbours';
import { Logger } from '../../log';
import { stopwatch } from '../../stopwatch';
import { DesiredState } from '../../model/desired';
import { ExternalFrontend } from '../../model/frontend';
import { ipFamily } from '../../model/ip_address';
import { NodeContext } from '../../model/node';
import { AttachmentRepair, edgeWanted, POD_HOOKS, podWanted } from '../../sync/attachment_repair';

/** The kernel keeps the first 15 characters of a program's name. */
const KERNEL_NAME_LEN = 15;
import { CapacityReport } from '../../sync/capacity';
import { LbSync, SyncContext } from '../../sync/lb_sync';
import { LbDeps, LoadBalancer } from '../load_balancer';
import { localPortRange } from '../../host/local_port_range';
import { currentNetns } from '../../host/netns';
import { RunConfig } from '../../run_config';
import { computeMaglev } from './maglev';
import { EdgeLbMetrics, edgeMapCapacities } from './metrics';
import { EdgeReconciler } from './reconciler';
import { defaultSnatPorts, formatPortRanges, snatPortClashes } from './snat_ports';

export interface EdgeLbOptions {
  dp: Pick<EdgeDatapath, 'setConfig' | 'attachXdp' | 'attachTc' | 'attachPodTc' | 'settleMigratedMaps' | 'programIds'>;
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
   *  them back when they go missing. It also tells what a device's slots hold. */
  repair: Pick<AttachmentRepair, 'want' | 'devices'>;
  /** The inode of the agent's network namespace, where the devices are. */
  netns: number;
  /** Where the per-packet path goes (--bpf-lb-pod-interfaces); undefined: nowhere. */
  podInterfaces?: PodInterfaceChoice;
  /** The links of the agent's namespace (host/pod_interfaces.ts). */
  readLinks?: () => LinkInfo[];
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

export class EdgeLb implements LbSync {
  readonly name = 'edge';
  private config = '';
  private devices = new Set<string>();
  private pods = new Set<string>();
  /** Pod interfaces whose kpr slot another program holds, said once each. */
  private readonly foreign = new Set<string>();
  /** The pod interfaces are to be looked for again (a link came or went). */
  private linksChanged = true;

  constructor(private readonly o: EdgeLbOptions) {}

  /** The kernel reported links added or removed: the per-packet path goes
   *  onto new pod interfaces now, not at the next sync. */
  linksChangedNow(): void {
    this.linksChanged = true;
    this.attachPods();
  }

  sync(desired: DesiredState, { node, kind }: SyncContext): void {
    const elapsed = stopwatch();
    const cfg = edgeConfig(node, this.o.hashSeed, this.o.flows);
    const text = JSON.stringify(cfg);
    if (text !== this.config) {
      this.o.dp.setConfig(cfg);
      this.config = text;
      this.o.log.info(`edge: node addresses ${cfg.nodeAddr4 ?? 'none'} (IPv4), ${cfg.nodeAddr6 ?? 'none'} (IPv6), hash seed ${cfg.hashSeed}`);
    }
    this.attach(this.o.devices ?? detectDevices(node.addresses));
    if (kind === 'full') this.linksChanged = true;
    this.attachPods();
    this.o.neighbours.sync(backendNodes(desired.edgeFrontends));
    const frontends = desired.podFrontends.length > 0 ? [...desired.edgeFrontends, ...desired.podFrontends] : desired.edgeFrontends;
    const r = kind === 'full' ? this.o.reconciler.repair(frontends) : this.o.reconciler.sync(frontends);
    this.o.capacity.report(this.name, r.skipped);
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
    // A device of the node is never a pod interface: the pods are looked
    // for again without it.
    this.linksChanged = true;
    if (attachDevices(this.o.dp, fresh, this.o.mode, this.o.log).length > 0) this.settle();
    this.want();
  }

  private readonly settle = () => settleMigrations(this.o.dp, this.o.log);

  /** The per-packet path onto each interface towards pods that came since
   *  the last look (host/pod_interfaces.ts); one that went is forgotten
   *  with its programs. */
  private attachPods(): void {
    const { podInterfaces: choice, readLinks } = this.o;
    // Until the node's devices are known, any veth might be one of them.
    if (choice === undefined || !readLinks || !this.linksChanged || this.devices.size === 0) return;
    this.linksChanged = false;
    let found: string[];
    try {
      found = podInterfaces(readLinks(), choice, [...this.devices]);
    } catch (e) {
      this.o.log.error(`pod interfaces: listing the links failed: ${(e as Error).message}; trying again at the next sync`);
      this.linksChanged = true;
      return;
    }
    const fresh = this.unheld(found.filter((d) => !this.pods.has(d)));
    const gone = [...this.pods].filter((d) => !found.includes(d));
    if (fresh.length === 0 && gone.length === 0) return;
    const attached = attachPodInterfaces(this.o.dp, fresh, this.o.log);
    this.pods = new Set([...found.filter((d) => this.pods.has(d)), ...attached]);
    this.o.log.info(`pod interfaces: per-packet path on ${this.pods.size} (${attached.length} new${gone.length > 0 ? `, ${gone.length} gone` : ''})`);
    this.want();
  }

  /** The interfaces whose kpr tc slot is free or kpr's: a CNI's own
   *  datapath (its program in the same slot) is never replaced; looked at
   *  again at the next look, when it may have gone. */
  private unheld(interfaces: string[]): string[] {
    if (interfaces.length === 0) return interfaces;
    const ours = new Set(POD_HOOKS.map((h) => h.program.slice(0, KERNEL_NAME_LEN)));
    const held = new Map<string, string>();
    try {
      for (const d of this.o.repair.devices(interfaces)) {
        const other = [d.tcIngress, d.tcEgress].find((p) => p !== undefined && p !== '' && !ours.has(p));
        if (other) held.set(d.device, other);
      }
    } catch (e) {
      this.o.log.error(`pod interfaces: reading what their tc slots hold failed: ${(e as Error).message}; trying again at the next look`);
      this.linksChanged = true;
      return [];
    }
    for (const [dev, prog] of held) {
      if (!this.foreign.has(dev)) this.o.log.warn(`pod interfaces: ${dev} has ${prog} in kpr's tc slot (handle 1, priority 1): the per-packet path leaves it alone`);
      this.foreign.add(dev);
    }
    return interfaces.filter((d) => !held.has(d));
  }

  /** What the attachment repair keeps in place: the edge LB on the node's
   *  devices, the per-packet path on the pods' interfaces. */
  private want(): void {
    this.o.repair.want('edge', [...edgeWanted(this.o.dp, [...this.devices], this.o.mode, this.o.netns, this.settle), ...podWanted(this.o.dp, [...this.pods], this.o.netns)]);
  }
}

/** The edge LB's flow and SNAT tables hold connections, not services: this
 *  many per entry of --bpf-lb-map-max (262144 by default, the size Cilium's
 *  non-TCP conntrack table has). */
export const EDGE_FLOWS_PER_LB_ENTRY = 4;

/** The settings of `kpr run` the edge LB takes. */
export type EdgeLbConfig = Pick<
  RunConfig,
  'acceleration' | 'lbMapMax' | 'fragmentsMapMax' | 'maglevTableSize' | 'maglevSeed' | 'noBackendResponse' | 'lbMode' | 'lbAlgorithm' | 'snatPorts' | 'flowTimeouts' | 'devices' | 'podInterfaces'
>;

/** The edge LB's objects and map capacities. */
function edgeOpenOptions(cfg: EdgeLbConfig, objectDir: string, mapDir: string): EdgeOpenOptions {
  return {
    objectPath: path.join(objectDir, 'xdp_lb.o'),
    tcObjectPath: path.join(objectDir, 'tc_dsr.o'),
    mapDir,
    frontendMax: cfg.lbMapMax,
    backendMax: cfg.lbMapMax,
    flowMax: EDGE_FLOWS_PER_LB_ENTRY * cfg.lbMapMax,
    affinityMax: cfg.lbMapMax,
    sourceRangeMax: cfg.lbMapMax,
    snatMax: EDGE_FLOWS_PER_LB_ENTRY * cfg.lbMapMax,
    fragmentMax: cfg.fragmentsMapMax,
    maglevTableSize: cfg.maglevTableSize,
  };
}

/** The flow timeouts, and the snat ports: the configured ones, or those the
 *  node's own connections and NodePorts leave free. Ports shared with the
 *  node's local port range are allowed, but said. */
function flowSettings(cfg: EdgeLbConfig, log: Logger): FlowSettings {
  const local = localPortRange();
  const snatPorts = cfg.snatPorts ?? defaultSnatPorts(local);
  if (snatPorts.length === 0) throw new Error(`no snat ports are left beside ip_local_port_range ${local.min}-${local.max}: set --bpf-lb-snat-port-range`);
  const clashes = snatPortClashes(snatPorts, local);
  if (clashes.length > 0) {
    log.warn(`edge: snat ports ${formatPortRanges(clashes)} are in ip_local_port_range ${local.min}-${local.max}: a reply to one of this node's own connections there may be taken for a snat flow's`);
  }
  const t = cfg.flowTimeouts;
  log.info(
    `edge: snat ports ${formatPortRanges(snatPorts)}; flow timeouts tcp ${t.tcpEstablished}s, syn ${t.tcpSyn}s, fin ${t.tcpFin}s, close ${t.tcpClose}s, udp ${t.udp}s, udp stream ${t.udpStream}s`,
  );
  return { timeouts: t, snatPorts };
}

/** The XDP edge LB, unless --bpf-lb-acceleration disabled or the addon is
 *  too old for its control plane; its maps are adopted, never flushed. */
export function openEdgeLb(cfg: EdgeLbConfig, objectDir: string, mapDir: string, { kpr, capacity, repair, log }: LbDeps): LoadBalancer | undefined {
  const mode = attachMode(cfg.acceleration);
  if (mode === undefined) {
    log.info('edge: --bpf-lb-acceleration disabled: no XDP edge LB');
    return undefined;
  }
  const flows = flowSettings(cfg, log);
  const opts = edgeOpenOptions(cfg, objectDir, mapDir);
  let dp: EdgeDatapath;
  try {
    dp = loadAddon().openEdgeDatapath(opts);
  } catch (e) {
    // The socket LB does not depend on it: the node keeps its services.
    log.error(`edge: loading ${opts.objectPath} and ${opts.tcObjectPath} failed: ${(e as Error).message}; no XDP edge LB`);
    return undefined;
  }
  logMigrations(dp, log);
  const reconciler = new EdgeReconciler(dp, {
    limits: { frontendMax: cfg.lbMapMax, backendMax: cfg.lbMapMax, sourceRangeMax: cfg.lbMapMax },
    noBackend: cfg.noBackendResponse,
    maglev: (backends) => {
      const elapsed = stopwatch();
      const table = computeMaglev({ backends, size: cfg.maglevTableSize, seed: cfg.maglevSeed });
      kpr.maglevBuilt(elapsed() / 1000);
      return table;
    },
  });
  const adopted = reconciler.adopt();
  log.info(`edge: adopted ${adopted.services.size} services from ${mapDir}; ${cfg.lbMode} mode, ${cfg.lbAlgorithm}, Maglev tables of ${cfg.maglevTableSize}`);
  const { podInterfaces } = cfg;
  const sync = new EdgeLb({ dp, reconciler, hashSeed: cfg.maglevSeed, flows, mode, devices: cfg.devices, neighbours: new NodeNeighbours(log), log, capacity, repair, netns: currentNetns(), podInterfaces, readLinks });
  const links = podInterfaces === undefined ? undefined : new LinkEvents(() => sync.linksChangedNow(), log);
  links?.start();
  if (podInterfaces !== undefined) log.info(`edge: per-packet path on ${podInterfaces === 'auto' ? "every veth and netkit device whose peer is in another network namespace" : podInterfaces.join(', ')}`);
  return {
    sync,
    metrics: new EdgeLbMetrics({ maps: dp, programmed: () => reconciler.programmed, capacities: edgeMapCapacities(opts) }),
    stop: () => links?.stop(),
  };
}
