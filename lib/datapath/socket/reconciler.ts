// Keeps the maps in line with the desired frontends, one sync at a time. It
// starts from what the maps hold (adopting a previous agent's state) and then
// trusts its own plans; after a failed write it reads the maps again, since
// it can no longer know how far the writes got.
import { backendKey, Frontend } from '../../model/frontend';
import { DatapathMaps, SocketTarget } from '../native';
import { applyPlan, PlanLimits, planSync, SkippedFrontend } from './plan';
import { ProgrammedState, programmedState } from './programmed';

export interface SyncReport {
  frontends: number;
  backends: number;
  /** Map entries written or deleted. */
  writes: number;
  skipped: SkippedFrontend[];
  udpTargets: SocketTarget[];
}

export class Reconciler {
  private state?: ProgrammedState;

  constructor(
    private readonly maps: DatapathMaps,
    private readonly limits: PlanLimits,
  ) {}

  /** What the last sync programmed; undefined while the next one has to
   *  read the maps first (before the first, after a failed write). */
  get programmed(): ProgrammedState | undefined {
    return this.state;
  }

  /** Reads the programmed state from the maps. */
  adopt(): ProgrammedState {
    this.state = programmedState(this.maps.dumpServices(), this.maps.dumpBackends());
    return this.state;
  }

  /** Reads the maps again, then syncs: entries changed or deleted behind
   *  the agent's back are written again. */
  repair(desired: Frontend[]): SyncReport {
    this.adopt();
    return this.sync(desired);
  }

  sync(desired: Frontend[]): SyncReport {
    const start = this.state ?? this.adopt();
    this.state = undefined;
    let plan = planSync(start, desired, this.limits);
    applyPlan(this.maps, plan);
    let writes = plan.writes;
    const udpTargets = new Map(plan.udpTargets.map((t) => [backendKey(t), t]));
    // Removed frontends free their entries only at the end of a sync, so a
    // frontend that did not fit may fit now.
    if (plan.skipped.length > 0 && plan.deletes > 0) {
      plan = planSync(plan.next, desired, this.limits);
      applyPlan(this.maps, plan);
      writes += plan.writes;
      for (const t of plan.udpTargets) udpTargets.set(backendKey(t), t);
    }
    this.state = plan.next;
    return {
      frontends: plan.next.frontends.size,
      backends: plan.next.backends.size,
      writes,
      skipped: plan.skipped,
      udpTargets: [...udpTargets.values()],
    };
  }
}
