// kube-proxy's health rules (pkg/proxy/healthcheck/proxier_health.go), so
// that probes and node drains written for kube-proxy read kpr alike:
// - the proxy is healthy unless a queued change has waited longer than the
//   timeout for a sync; kpr counts its first sync as queued at start, so an
//   agent that never manages one is restarted too;
// - /healthz also fails while this node is going away (being deleted, or
//   tainted by the cluster autoscaler for deletion), so that load balancers
//   drain it first; /livez ignores the node, so the agent is not restarted
//   for it and keeps serving the connections still drained through it.
// The bodies are kube-proxy's, byte for byte but for the clock reading Go
// appends to its times.
import { Node } from '../model/objects';

/** The taint the cluster autoscaler puts on a node it is about to delete. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

export interface HealthAnswer {
  status: 200 | 503;
  body: string;
}

/** A node stays eligible for traffic until it is being deleted or tainted
 *  for deletion; a Node that is gone is not eligible either. */
export function nodeEligible(node: Node | undefined): boolean {
  if (!node || node.metadata.deletionTimestamp !== undefined) return false;
  return !(node.spec?.taints ?? []).some((t) => t.key === TO_BE_DELETED_TAINT);
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Go's time.Time.String() of a UTC time, as kube-proxy writes it with %q;
 *  undefined is Go's zero time. */
export function goTime(ms: number | undefined): string {
  if (ms === undefined) return '0001-01-01 00:00:00 +0000 UTC';
  const d = new Date(ms);
  const date = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  // Go's .999999999: the fraction without trailing zeros, none when zero.
  const fraction = d.getUTCMilliseconds() === 0 ? '' : `.${pad(d.getUTCMilliseconds(), 3).replace(/0+$/, '')}`;
  return `${date} ${time}${fraction} +0000 UTC`;
}

export class ProxierHealth {
  /** The oldest queued change not yet synced. */
  private oldestPendingQueued?: number;
  private lastUpdated?: number;
  /** kube-proxy's starting value: eligible until a Node event says otherwise. */
  private eligible = true;

  constructor(
    /** kube-proxy's healthTimeout: twice the sync period. */
    readonly timeoutMs: number,
    startedAtMs = Date.now(),
  ) {
    this.oldestPendingQueued = startedAtMs;
  }

  /** A change waits for a sync. */
  queuedUpdate(atMs: number): void {
    this.oldestPendingQueued ??= atMs;
  }

  /** A sync put every change taken so far into the maps. */
  updated(atMs: number): void {
    this.oldestPendingQueued = undefined;
    this.lastUpdated = atMs;
  }

  /** This node's Node as last seen; undefined: deleted. */
  syncNode(node: Node | undefined): void {
    this.eligible = nodeEligible(node);
  }

  /** The proxy's own health, whatever the node: /livez, and the
   *  healthCheckNodePort servers'. */
  isHealthy(nowMs: number): boolean {
    return this.oldestPendingQueued === undefined || nowMs - this.oldestPendingQueued < this.timeoutMs;
  }

  healthz(nowMs: number): HealthAnswer {
    const healthy = this.isHealthy(nowMs) && this.eligible;
    return { status: healthy ? 200 : 503, body: `${this.times(healthy, nowMs)}, "nodeEligible": ${this.eligible}}` };
  }

  livez(nowMs: number): HealthAnswer {
    const healthy = this.isHealthy(nowMs);
    return { status: healthy ? 200 : 503, body: `${this.times(healthy, nowMs)}}` };
  }

  /** kube-proxy reports lastUpdated as now while healthy, as its older
   *  releases did: the metrics tell when the last sync really was. */
  private times(healthy: boolean, nowMs: number): string {
    const lastUpdated = healthy ? nowMs : this.lastUpdated;
    return `{"lastUpdated": ${JSON.stringify(goTime(lastUpdated))},"currentTime": ${JSON.stringify(goTime(nowMs))}`;
  }
}
