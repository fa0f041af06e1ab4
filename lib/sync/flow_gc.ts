// When the per-flow state collector runs (native/src/flow_gc.h): a slice of
// every map each second, sized so that each entry is looked at once per
// --conntrack-gc-interval. Its cost per second is then bounded by the maps'
// capacities over the interval, whatever the traffic; a full map is logged
// once per pass, beside its drops and its kpr_bpf_map_entries.
import { FlowGc, FlowGcReport } from '../datapath/native';
import { Logger } from '../log';
import { MapCounts } from '../metrics/datapath_metrics';

export const GC_STEP_MS = 1000;
/** A map this full after a pass is reported: new flows will soon be refused or evict live ones. */
const FULL_FRACTION = 0.9;

export interface FlowGcOptions {
  gc: FlowGc;
  intervalMs: number;
  /** Entries each map can hold, by name. */
  capacities: MapCounts;
  /** Told every step's reports (metrics). */
  reported: (reports: FlowGcReport[]) => void;
  log: Logger;
}

/** Entries of each map a step visits: the largest map in interval/step steps. */
export function gcBudget(capacities: MapCounts, intervalMs: number): number {
  const largest = Math.max(1, ...Object.values(capacities));
  return Math.ceil((largest * GC_STEP_MS) / intervalMs);
}

export class FlowCollector {
  private timer?: NodeJS.Timeout;
  private readonly budget: number;

  constructor(private readonly o: FlowGcOptions) {
    this.budget = gcBudget(o.capacities, o.intervalMs);
  }

  start(): void {
    this.timer = setInterval(() => this.step(), GC_STEP_MS);
  }

  step(): FlowGcReport[] {
    let reports: FlowGcReport[];
    try {
      reports = this.o.gc.step(this.budget);
    } catch (e) {
      this.o.log.error(`flow gc: ${(e as Error).message}`);
      return [];
    }
    this.o.reported(reports);
    for (const r of reports) {
      const capacity = this.o.capacities[r.map];
      if (r.passDone && r.live !== undefined && capacity && r.live >= FULL_FRACTION * capacity) {
        this.o.log.warn(`flow gc: ${r.map} holds ${r.live} of ${capacity} entries after a pass: raise --bpf-lb-map-max, or shorten the conntrack timeouts`);
      }
      if (r.deleted > 0) this.o.log.debug(`flow gc: ${r.map}: ${r.deleted} entries of ended flows deleted`);
    }
    return reports;
  }

  stop(): void {
    clearInterval(this.timer);
    this.o.gc.close();
  }
}
