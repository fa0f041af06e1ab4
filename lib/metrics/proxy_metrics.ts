// kube-proxy's metrics, under kube-proxy's names, types, help texts and
// buckets (pkg/proxy/metrics), so that existing dashboards and alerts read kpr
// unchanged. kpr syncs both IP families in one run, so the per-family
// ip_family label of current kube-proxy is left out where it would split one
// measurement into two.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { KUBE_PROXY_NO_LOCAL_ENDPOINTS_GAUGE, NO_LOCAL_ENDPOINTS_GAUGE } from './no_local_endpoints_gauge';
import { HealthAnswer, ProxierHealth } from './proxier_health';

const SUBSYSTEM = 'kubeproxy';

/** 1ms, 2ms, 4ms ... 16.384s: kube-proxy's ExponentialBuckets(0.001, 2, 15). */
export const SYNC_DURATION_BUCKETS = Array.from({ length: 15 }, (_, i) => 0.001 * 2 ** i);

const linear = (start: number, width: number, count: number) => Array.from({ length: count }, (_, i) => start + width * i);

/** 0, 0.25s, 0.5s, 1s ... 59s, 60s ... 115s, 2min ... 5min, as kube-proxy merges them. */
export const NETWORK_PROGRAMMING_BUCKETS = [0, ...linear(0.25, 0.25, 2), ...linear(1, 1, 59), ...linear(60, 5, 12), ...linear(120, 30, 7)];

/** kube-proxy's health timeout with its default sync period of 30s. */
export const DEFAULT_HEALTH_TIMEOUT_MS = 60_000;

export class ProxyMetrics {
  readonly registry = new Registry();
  private readonly syncDuration: Histogram;
  private readonly lastSync: Gauge;
  private readonly lastQueued: Gauge;
  private readonly programming: Histogram;
  private readonly endpointChangesPending: Gauge;
  private readonly endpointChangesTotal: Counter;
  private readonly serviceChangesPending: Gauge;
  private readonly serviceChangesTotal: Counter;
  private readonly noLocalEndpoints: Gauge<'traffic_policy'>;
  private readonly healthzAnswers: Counter<'code'>;
  private readonly livezAnswers: Counter<'code'>;

  constructor(
    readonly health = new ProxierHealth(DEFAULT_HEALTH_TIMEOUT_MS),
    o: { kubeProxyTotalGauge?: boolean } = {},
  ) {
    const registers = [this.registry];
    const name = (n: string) => `${SUBSYSTEM}_${n}`;
    this.syncDuration = new Histogram({ name: name('sync_proxy_rules_duration_seconds'), help: 'SyncProxyRules latency in seconds', buckets: SYNC_DURATION_BUCKETS, registers });
    this.lastSync = new Gauge({ name: name('sync_proxy_rules_last_timestamp_seconds'), help: 'The last time proxy rules were successfully synced', registers });
    this.lastQueued = new Gauge({ name: name('sync_proxy_rules_last_queued_timestamp_seconds'), help: 'The last time a sync of proxy rules was queued', registers });
    this.programming = new Histogram({ name: name('network_programming_duration_seconds'), help: 'In Cluster Network Programming Latency in seconds', buckets: NETWORK_PROGRAMMING_BUCKETS, registers });
    this.endpointChangesPending = new Gauge({ name: name('sync_proxy_rules_endpoint_changes_pending'), help: 'Pending proxy rules Endpoint changes', registers });
    this.endpointChangesTotal = new Counter({ name: name('sync_proxy_rules_endpoint_changes_total'), help: 'Cumulative proxy rules Endpoint changes', registers });
    this.serviceChangesPending = new Gauge({ name: name('sync_proxy_rules_service_changes_pending'), help: 'Pending proxy rules Service changes', registers });
    this.serviceChangesTotal = new Counter({ name: name('sync_proxy_rules_service_changes_total'), help: 'Cumulative proxy rules Service changes', registers });
    this.noLocalEndpoints = new Gauge({
      name: o.kubeProxyTotalGauge ? KUBE_PROXY_NO_LOCAL_ENDPOINTS_GAUGE : NO_LOCAL_ENDPOINTS_GAUGE,
      help: 'Number of services with a Local traffic policy and no endpoints',
      labelNames: ['traffic_policy'],
      registers,
    });
    this.healthzAnswers = new Counter({ name: name('proxy_healthz_total'), help: 'Cumulative proxy healthz HTTP status', labelNames: ['code'], registers });
    this.livezAnswers = new Counter({ name: name('proxy_livez_total'), help: 'Cumulative proxy livez HTTP status', labelNames: ['code'], registers });
    // Exported from the start, as kube-proxy does; each sync sets it.
    for (const scope of ['internal', 'external']) this.noLocalEndpoints.set({ traffic_policy: scope }, 0);
  }

  /** Service ports whose Local traffic policy finds no local endpoint. */
  noLocal(counts: { internal: number; external: number }): void {
    this.noLocalEndpoints.set({ traffic_policy: 'internal' }, counts.internal);
    this.noLocalEndpoints.set({ traffic_policy: 'external' }, counts.external);
  }

  /** One update of a Service seen, whether or not it changes anything. */
  serviceUpdate(): void {
    this.serviceChangesTotal.inc();
  }

  /** One update of an EndpointSlice seen, whether or not it changes anything. */
  endpointSliceUpdate(): void {
    this.endpointChangesTotal.inc();
  }

  pending(services: number, endpointSlices: number): void {
    this.serviceChangesPending.set(services);
    this.endpointChangesPending.set(endpointSlices);
  }

  syncQueued(atMs: number): void {
    this.lastQueued.set(atMs / 1000);
    this.health.queuedUpdate(atMs);
  }

  /** A successful sync that took seconds and ended at endMs; triggers are the
   *  EndpointSlice change times (ms) it put into the maps. */
  synced(seconds: number, endMs: number, triggers: number[]): void {
    this.syncDuration.observe(seconds);
    this.lastSync.set(endMs / 1000);
    this.health.updated(endMs);
    for (const t of triggers) this.programming.observe(Math.max(0, endMs - t) / 1000);
  }

  /** kube-proxy's /healthz answer, counted by status code as kube-proxy does. */
  healthz(nowMs: number): HealthAnswer {
    const a = this.health.healthz(nowMs);
    this.healthzAnswers.inc({ code: String(a.status) });
    return a;
  }

  /** kube-proxy's /livez answer, counted likewise. */
  livez(nowMs: number): HealthAnswer {
    const a = this.health.livez(nowMs);
    this.livezAnswers.inc({ code: String(a.status) });
    return a;
  }
}
