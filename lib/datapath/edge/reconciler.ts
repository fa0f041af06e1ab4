// Keeps the edge LB's maps in line with the desired edge frontends, one sync
// at a time, like the socket LB's reconciler: it starts from what the maps
// hold (a previous agent's state is adopted, never flushed), then trusts its
// own plans; a full sync or a failed write makes it read the maps again.
import { ExternalFrontend } from '../../model/frontend';
import { applyEdgePlan, EdgeSettings, planEdgeSync } from './plan';
import { EdgeState, readEdgeState } from './programmed';
import { EdgeMaps } from '../native';
import { SkippedFrontend } from '../socket/plan';

export interface EdgeSyncReport {
  /** Edge services (service ports per family), frontends and backends programmed. */
  services: number;
  frontends: number;
  backends: number;
  /** Map entries written or deleted; a Maglev table counts as one. */
  writes: number;
  skipped: SkippedFrontend[];
}

export class EdgeReconciler {
  private state?: EdgeState;

  constructor(
    private readonly maps: EdgeMaps,
    private readonly settings: EdgeSettings,
  ) {}

  /** What the last sync programmed; undefined while the next one has to
   *  read the maps first (before the first, after a failed write). */
  get programmed(): EdgeState | undefined {
    return this.state;
  }

  /** Reads the programmed state from the maps. Services keep the ids this
   *  reconciler gave them while the maps still have them, so that a service
   *  whose frontends were deleted behind its back gets them back unchanged. */
  adopt(): EdgeState {
    const known = this.state?.ids ?? new Map<string, number>();
    const state = readEdgeState(this.maps);
    for (const [key, id] of known) if (state.services.has(id)) state.ids.set(key, id);
    this.state = state;
    return state;
  }

  repair(desired: ExternalFrontend[]): EdgeSyncReport {
    this.adopt();
    return this.sync(desired);
  }

  sync(desired: ExternalFrontend[]): EdgeSyncReport {
    const start = this.state ?? this.adopt();
    // Unknown until the writes are done: a failure leaves the next sync to read the maps.
    this.state = undefined;
    let plan = planEdgeSync(start, desired, this.settings);
    applyEdgePlan(this.maps, plan);
    let writes = plan.writes;
    // Deletions free their entries only at the end of a plan, so what did not fit may fit now.
    if (plan.skipped.length > 0 && plan.deletes > 0) {
      plan = planEdgeSync(plan.next, desired, this.settings);
      applyEdgePlan(this.maps, plan);
      writes += plan.writes;
    }
    this.state = plan.next;
    const services = [...plan.next.services.values()];
    return {
      services: services.length,
      frontends: services.reduce((n, s) => n + s.frontends.size, 0),
      backends: services.reduce((n, s) => n + s.backends.size, 0),
      writes,
      skipped: plan.skipped,
    };
  }
}
