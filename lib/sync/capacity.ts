// Map capacity reached: a frontend that does not fit is left out, the
// frontends already programmed stay as they are, and every sync plans all
// desired frontends again, so a pending one goes in as soon as deletions free
// room. This file tells operators, once per appearance and not at every sync:
// an error line and (in Kubernetes mode) a Warning Event on the Service when a
// frontend first does not fit, a line when pending frontends leave the list
// (programmed, or no longer wanted), and the number pending as a metric.
import { Logger } from '../log';
import { frontendKey } from '../model/frontend';
import { SkippedFrontend } from '../datapath/plan';
import type { LbName } from './lb_sync';

/** The Event's reason, as `kubectl get events` shows it. */
export const CAPACITY_EVENT_REASON = 'MapCapacityReached';

/** Records a Warning Event on a Service ("namespace/name"). */
export type ServiceEvent = (service: string, reason: string, message: string) => void;

export interface CapacityReportOptions {
  log: Logger;
  /** Sets kpr_frontends_pending_capacity. */
  pending?: (datapath: LbName, frontends: number) => void;
}

/** A storm of services that do not fit must not become a storm of Events. */
export const MAX_EVENTS_PER_SYNC = 20;

const LABEL: Record<LbName, string> = { socket: '', edge: 'edge ' };

export class CapacityReport {
  private readonly pending: Record<LbName, Set<string>> = { socket: new Set(), edge: new Set() };
  private event?: ServiceEvent;

  constructor(private readonly o: CapacityReportOptions) {}

  /** Kubernetes mode: Events too, once the source's connection is known. */
  recordEvents(event: ServiceEvent): void {
    this.event = event;
  }

  /** The frontends one datapath's sync left out. */
  report(datapath: LbName, skipped: SkippedFrontend[]): void {
    const before = this.pending[datapath];
    const now = new Set<string>();
    const services = new Map<string, string>();
    for (const s of skipped) {
      const key = frontendKey(s.frontend);
      now.add(key);
      if (before.has(key)) continue;
      this.o.log.error(`capacity: ${LABEL[datapath]}${s.reason}; pending until room frees`);
      if (!services.has(s.frontend.serviceName)) services.set(s.frontend.serviceName, s.reason);
    }
    const left = [...before].filter((k) => !now.has(k)).length;
    if (left > 0) this.o.log.info(`capacity: ${left} pending ${LABEL[datapath]}frontends programmed or no longer wanted; ${now.size} still pending`);
    this.pending[datapath] = now;
    this.o.pending?.(datapath, now.size);
    if (!this.event) return;
    const fresh = [...services];
    for (const [service, reason] of fresh.slice(0, MAX_EVENTS_PER_SYNC)) {
      this.event(service, CAPACITY_EVENT_REASON, `kpr on this node could not program ${LABEL[datapath]}frontend ${reason}; it is retried at every sync`);
    }
    if (fresh.length > MAX_EVENTS_PER_SYNC) this.o.log.warn(`capacity: no Event for ${fresh.length - MAX_EVENTS_PER_SYNC} more services that do not fit`);
  }
}
