// One declarative sync, run by the bounded-frequency runner: the model turns
// the current objects into desired frontends and each load balancer writes
// what differs from its maps (load_balancer.ts); the healthCheckNodePort
// servers follow the same desired state. A sync with no change since the last one does
// nothing; the periodic full sync checks the maps (the edge LB's by reading
// them back, the socket LB's by digest, socket/map_digest.ts), so entries
// changed or deleted behind the agent's back are put back, and so are
// programs taken off their hooks (attachment_repair.ts).
import { HealthCheckServers } from '../health_check_node_port';
import { Logger } from '../log';
import { stopwatch } from '../stopwatch';
import { ProxyMetrics } from '../metrics/proxy_metrics';
import { DesiredFrontends } from '../model/desired_memo';
import { healthCheckHosts } from '../model/nodeport_addresses';
import { AttachmentRepair } from './attachment_repair';
import { LbSync } from './lb_sync';
import { InheritedNat } from '../host/inherited_nat';
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

/** What a sync keeps in line besides the load balancers. */
export interface SyncExtras {
  /** Puts programs back on their hooks, at full syncs. */
  attachments?: Pick<AttachmentRepair, 'check'>;
  healthChecks?: HealthCheckServers;
  /** Keeps nf_nat's hooks for connections translated before kpr, at full syncs. */
  inheritedNat?: Pick<InheritedNat, 'check'>;
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

  constructor(
    private readonly lbs: LbSync[],
    private readonly state: ProxyState,
    private readonly metrics: ProxyMetrics,
    private readonly log: Logger,
    private readonly readyDetail: string,
    private readonly timing: SyncTiming,
    private readonly extras: SyncExtras = {},
  ) {
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

  /** The maps changed behind the agent's back: a sync puts them right,
   *  though no object changed. */
  mapsChanged(): void {
    this.dirty = true;
    this.runner.run();
  }

  stop(): void {
    this.runner.stop();
  }

  private sync(kind: RunKind): boolean {
    const elapsed = stopwatch();
    const taken = this.state.take();
    this.unobserved.push(...taken.triggers);
    this.dirty ||= taken.changed;
    if (kind === 'changes' && !this.dirty) return true;
    try {
      const { node, config, nodeAddresses } = this.state;
      const desired = this.desired.compute(taken, node, config, nodeAddresses, this.state.hostPortPods);
      this.metrics.noLocal(desired.noLocalEndpoints);
      for (const c of this.conflicts.fresh(desired.conflicts)) this.log.error(c);
      for (const w of this.warnings.fresh(desired.warnings)) this.log.warn(w);
      const ctx = { node, kind, routine: this.ready && !this.dirty, elapsed, socketBypass: this.state.socketBypass, serviceCidrs: this.state.serviceCidrs };
      for (const lb of this.lbs) lb.sync(desired, ctx);
      if (kind === 'full') {
        this.extras.attachments?.check();
        this.extras.inheritedNat?.check();
      }
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
}
