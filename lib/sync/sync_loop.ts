// One declarative sync, run by the bounded-frequency runner: the model turns
// the current objects into desired frontends and the reconcilers write what
// differs from the maps (the socket LB's, and the edge LB's when it runs);
// the healthCheckNodePort servers follow the same desired state. A sync with no change since the last one does
// nothing; the periodic full sync re-reads the maps first, so entries changed
// or deleted behind the agent's back are put back, and so are programs taken
// off their hooks (attachment_repair.ts).
import { Datapath } from '../datapath/native';
import { HealthCheckServers } from '../health_check_node_port';
import { networkNamespaces } from '../host/netns';
import { Reconciler } from '../datapath/socket/reconciler';
import { Logger } from '../log';
import { stopwatch } from '../stopwatch';
import { ProxyMetrics } from '../metrics/proxy_metrics';
import { DesiredFrontends } from '../model/desired_memo';
import { formatAddrPort } from '../model/ip_address';
import { healthCheckHosts } from '../model/nodeport_addresses';
import { AttachmentRepair } from './attachment_repair';
import { CapacityReport } from './capacity';
import { EdgeSync } from './edge_sync';
import { ProxyState } from './proxy_state';
import { Reported } from './reported';
import { BoundedFrequencyRunner, RunKind } from './runner';

/** After a failed sync the maps are read again and the sync retried. */
export const RETRY_MS = 1000;

export interface SyncTiming {
  /** kube-proxy's minSyncPeriod: the least time between two syncs. */
  minSyncPeriodMs: number;
  /** kube-proxy's syncPeriod: a full sync at least this often. */
  syncPeriodMs: number;
}

/** What a sync programs besides the socket LB. */
export interface SyncExtras {
  edge?: EdgeSync;
  /** Puts programs back on their hooks, at full syncs. */
  attachments?: Pick<AttachmentRepair, 'check'>;
  healthChecks?: HealthCheckServers;
  /** Where frontends that do not fit are reported; by default the log alone. */
  capacity?: CapacityReport;
}

export class SyncLoop {
  private readonly runner: BoundedFrequencyRunner;
  private ready = false;
  private dirty = false;
  private readonly conflicts = new Reported();
  private readonly warnings = new Reported();
  /** Trigger times of changes not yet in the maps (kept across failed syncs). */
  private unobserved: number[] = [];
  private readonly desired = new DesiredFrontends();
  private readonly capacity: CapacityReport;

  constructor(
    private readonly dp: Pick<Datapath, 'destroyUdpSockets'>,
    private readonly reconciler: Reconciler,
    private readonly state: ProxyState,
    private readonly metrics: ProxyMetrics,
    private readonly log: Logger,
    private readonly readyDetail: string,
    private readonly timing: SyncTiming,
    private readonly extras: SyncExtras = {},
  ) {
    this.capacity = extras.capacity ?? new CapacityReport({ log });
    this.runner = new BoundedFrequencyRunner((kind) => this.sync(kind), {
      minIntervalMs: timing.minSyncPeriodMs,
      maxIntervalMs: timing.syncPeriodMs,
      retryIntervalMs: RETRY_MS,
    });
  }

  /** Syncs now, and from then on after changes and every syncPeriod. Call
   *  once the sources hold a complete view: nothing is programmed before. */
  start(): void {
    this.runner.start();
  }

  /** There is something new to sync. */
  changed(): void {
    this.metrics.syncQueued(Date.now());
    this.runner.run();
  }

  stop(): void {
    this.runner.stop();
  }

  private sync(kind: RunKind): boolean {
    const elapsed = stopwatch();
    const { changed, triggers } = this.state.take();
    this.unobserved.push(...triggers);
    this.dirty ||= changed;
    if (kind === 'changes' && !this.dirty) return true;
    try {
      const { services, endpointSlices, node, config, nodeAddresses } = this.state;
      const desired = this.desired.compute(services.values(), endpointSlices.values(), node, config, nodeAddresses);
      const { frontends, noLocalEndpoints } = desired;
      this.metrics.noLocal(noLocalEndpoints);
      for (const c of this.conflicts.fresh(desired.conflicts)) this.log.error(c);
      for (const w of this.warnings.fresh(desired.warnings)) this.log.warn(w);
      const r = kind === 'full' ? this.reconciler.repair(frontends) : this.reconciler.sync(frontends);
      this.capacity.report('socket', r.skipped);
      const skipped = r.skipped.length > 0 ? `, ${r.skipped.length} skipped` : '';
      const reread = kind === 'full' ? ', maps re-read' : '';
      const line = `sync: ${r.frontends} frontends, ${r.backends} backends, ${r.writes} writes in ${elapsed().toFixed(1)}ms${skipped}${reread}`;
      // A periodic sync that found everything in place is routine, frontends
      // still pending for lack of room too (the capacity report told of them).
      if (this.ready && !this.dirty && r.writes === 0) this.log.debug(line);
      else this.log.info(line);
      if (r.udpTargets.length > 0) this.destroyUdpSockets(r.udpTargets);
      this.extras.edge?.sync(desired, node, kind);
      if (kind === 'full') this.extras.attachments?.check();
      this.extras.healthChecks?.sync(desired.healthChecks, healthCheckHosts(node, config));
    } catch (e) {
      const retry = Math.max(RETRY_MS, this.timing.minSyncPeriodMs);
      this.log.error(`sync failed: ${(e as Error).message}; retrying in ${retry}ms`);
      return false;
    }
    this.metrics.synced(elapsed() / 1000, Date.now(), this.unobserved);
    this.unobserved = [];
    this.dirty = false;
    if (!this.ready) {
      this.ready = true;
      this.log.info(`kpr: ready (${this.readyDetail})`);
    }
    return true;
  }

  private destroyUdpSockets(targets: { addr: string; port: number }[]): void {
    const elapsed = stopwatch();
    const list = targets.map((t) => formatAddrPort(t.addr, t.port)).join(', ');
    try {
      const n = this.dp.destroyUdpSockets(targets, networkNamespaces());
      this.log.info(`udp: destroyed ${n} connected sockets to removed backends ${list} in ${elapsed().toFixed(1)}ms`);
    } catch (e) {
      this.log.error(`udp: destroying sockets to ${list} failed: ${(e as Error).message}`);
    }
  }
}
