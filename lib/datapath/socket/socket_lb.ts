// The socket LB's part of a sync: the desired frontends into its maps, then
// the connected UDP sockets to backends that left destroyed, since they would
// keep sending there; and how the agent opens it.
import * as fs from 'fs';
import * as path from 'path';
import { networkNamespaces } from '../../host/netns';
import { PodNetns } from '../../host/pod_netns';
import { Logger } from '../../log';
import { DesiredState } from '../../model/desired';
import { formatAddrPort } from '../../model/ip_address';
import { stopwatch } from '../../stopwatch';
import { CapacityReport } from '../../sync/capacity';
import { socketWanted } from '../../sync/attachment_repair';
import { LbSync, SyncContext } from '../../sync/lb_sync';
import { LbDeps, LoadBalancer } from '../load_balancer';
import { RunConfig } from '../../run_config';
import { logMigrations, settleMigrations } from '../map_migrations';
import { SocketDatapath, loadAddon, SocketOpenOptions, SocketTarget } from '../native';
import { socketMapCapacities, SocketLbMetrics } from './metrics';
import { SocketReconciler } from './reconciler';
import { RefusedRanges } from './refused_ranges';

export interface SocketLbOptions {
  dp: Pick<SocketDatapath, 'destroyUdpSockets' | 'replaceBypass' | 'replaceServiceRanges' | 'serviceRangesDigestLater'>;
  /** Finds the namespaces of the pods the socket LB leaves alone; undefined:
   *  the per-packet path is off, and a bypassed pod would reach no service. */
  podNetns?: Pick<PodNetns, 'cookies'>;
  reconciler: SocketReconciler;
  /** Unassigned addresses of the service CIDRs are this proxy's to refuse
   *  (no --service-proxy-name: refused_addresses.ts). */
  ownsServiceCidrs: boolean;
  /** Where frontends that do not fit are reported. */
  capacity: CapacityReport;
  /** Asks for a sync, which reads the maps back: they changed behind the agent's back. */
  resync: () => void;
  log: Logger;
}

export class SocketLb implements LbSync {
  readonly name = 'socket';

  /** The bypassed pods' addresses last asked for, and the cookies written. */
  private bypassAsked?: string;
  private bypassWritten = '';
  private bypassUnresolved = false;
  private readonly refused: RefusedRanges;

  constructor(private readonly o: SocketLbOptions) {
    this.refused = new RefusedRanges(o);
  }

  sync(desired: DesiredState, ctx: SyncContext): void {
    this.syncBypass(ctx.socketBypass, ctx.kind === 'full');
    const reads = this.o.reconciler.readBacks;
    const r = ctx.kind === 'full' ? this.o.reconciler.repair(desired.frontends, () => this.drifted()) : this.o.reconciler.sync(desired.frontends);
    this.o.capacity.report(this.name, r.skipped);
    const skipped = r.skipped.length > 0 ? `, ${r.skipped.length} skipped` : '';
    // A full sync checks the maps, and reads them back only when they differ (or a check found so before).
    const reread = this.o.reconciler.readBacks > reads ? ', maps re-read' : ctx.kind === 'full' ? ', maps checked' : '';
    const line = `sync: ${r.frontends} frontends, ${r.backends} backends, ${r.writes} writes in ${ctx.elapsed().toFixed(1)}ms${skipped}${reread}`;
    // A periodic sync that found everything in place is routine, frontends
    // still pending for lack of room too (the capacity report told of them).
    if (ctx.routine && r.writes === 0) this.o.log.debug(line);
    else this.o.log.info(line);
    if (r.udpTargets.length > 0) this.destroyUdpSockets(r.udpTargets);
    this.refused.sync(desired, ctx.serviceCidrs, ctx.kind === 'full');
  }

  /** A full sync's check found the maps changed behind the agent's back. */
  private drifted(): void {
    this.o.log.warn('socket LB: kpr_services or kpr_backends no longer hold what the agent wrote; reading them back');
    this.o.resync();
  }

  /** The bypassed pods' namespaces into kpr_sock_bypass: looked for when the
   *  pods change, and again at a full sync while one is not found. */
  private syncBypass(addresses: string[], full: boolean): void {
    const asked = addresses.join(',');
    if (asked === this.bypassAsked && !(full && this.bypassUnresolved)) return;
    this.bypassAsked = asked;
    if (!this.o.podNetns) {
      if (addresses.length > 0) this.o.log.warn(`socket LB bypass: pods ${asked} ask for it, but the per-packet path is off (--bpf-lb-pod-interfaces none): their connections stay translated`);
      return;
    }
    const found = this.o.podNetns.cookies(addresses);
    const missing = addresses.filter((a) => !found.has(a));
    this.bypassUnresolved = missing.length > 0;
    if (missing.length > 0) this.o.log.warn(`socket LB bypass: no network namespace holds ${missing.join(', ')} yet; looking again at the next full sync`);
    const cookies = [...new Set(found.values())].sort();
    if (cookies.join(',') === this.bypassWritten) return;
    this.o.dp.replaceBypass(cookies);
    this.bypassWritten = cookies.join(',');
    this.o.log.info(`socket LB bypass: ${cookies.length} pod network namespaces left to the per-packet path (${[...found.keys()].join(', ') || 'none'})`);
  }

  private destroyUdpSockets(targets: SocketTarget[]): void {
    const elapsed = stopwatch();
    const list = targets.map((t) => formatAddrPort(t.addr, t.port)).join(', ');
    try {
      const n = this.o.dp.destroyUdpSockets(targets, networkNamespaces());
      this.o.log.info(`udp: destroyed ${n} connected sockets to removed backends ${list} in ${elapsed().toFixed(1)}ms`);
    } catch (e) {
      this.o.log.error(`udp: destroying sockets to ${list} failed: ${(e as Error).message}`);
    }
  }
}

/** The cookie of this namespace, the node's (the agent runs in it). */
function nodeNetnsCookie(addon: Pick<ReturnType<typeof loadAddon>, 'netnsInfo'>): string {
  const [own] = addon.netnsInfo(['/proc/self/ns/net']);
  if (own.cookie === undefined) throw new Error(`reading this network namespace's cookie failed: ${own.error}`);
  return own.cookie;
}

/** Loads sock_lb.o (its maps adopted, never flushed), puts its programs on
 *  the cgroup, and reads what its maps hold. */
export function openSocketLb(
  cfg: Pick<SocketOpenOptions, 'lbMapMax' | 'revNatMapMax'> & Pick<RunConfig, 'sockHostnsOnly' | 'serviceProxyName'> & { podPath: boolean },
  objectDir: string,
  pins: { maps: string; links: string },
  cgroupRoot: string,
  { capacity, repair, resync, log }: LbDeps,
): LoadBalancer {
  const opts: SocketOpenOptions = { objectPath: path.join(objectDir, 'sock_lb.o'), mapDir: pins.maps, lbMapMax: cfg.lbMapMax, revNatMapMax: cfg.revNatMapMax };
  const addon = loadAddon();
  const dp = addon.openSocketDatapath(opts);
  logMigrations(dp, log);
  const podNetns = cfg.podPath ? new PodNetns(addon.netnsInfo) : undefined;
  const node = nodeNetnsCookie(addon);
  dp.setNodeNetns(node, cfg.sockHostnsOnly);
  if (cfg.sockHostnsOnly) {
    log.info(`socket LB: only in the node's network namespace (cookie ${node}); pods' connections are left to the per-packet path${cfg.podPath ? '' : ', which is off: they reach no service'}`);
  }
  const attached = dp.attachCgroup(cgroupRoot, pins.links);
  for (const a of attached) log.info(`attach: ${a.prog} ${a.action} on ${cgroupRoot}`);
  settleMigrations(dp, log);
  const cgroup = { path: cgroupRoot, id: fs.statSync(cgroupRoot).ino };
  repair.want('socket', socketWanted(dp, attached.map((a) => a.prog), cgroup, pins.links));
  const reconciler = new SocketReconciler(dp, { lbMapMax: cfg.lbMapMax });
  const adopted = reconciler.adopt();
  log.info(`adopted ${adopted.frontends.size} frontends and ${adopted.backends.size} backends from ${pins.maps}`);
  return {
    sync: new SocketLb({ dp, reconciler, capacity, resync, log, podNetns, ownsServiceCidrs: cfg.serviceProxyName === undefined }),
    metrics: new SocketLbMetrics({ maps: dp, programmed: () => reconciler.programmed, capacities: socketMapCapacities(opts) }),
  };
}
