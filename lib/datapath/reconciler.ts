// Keeps one load balancer's maps in line with its desired frontends, one
// sync at a time. It starts from what the maps hold (a previous agent's state
// is adopted, never flushed) and then trusts its own plans; a full sync, or
// a sync after a failed write, reads the maps again, since it can no longer
// know how far the writes got. What is read, planned and reported is the
// LB's own (socket/reconciler.ts, edge/reconciler.ts).
import { MapCheck } from './map_check';
import { applyPlan, Plan } from './plan';

export interface LbPlanner<S, D, M, P extends Plan<S, M>, R> {
  /** The state the maps hold; last: what this reconciler knew before, if anything. */
  read(maps: M, last: S | undefined): S;
  /** Whether the maps hold exactly state: then a full sync need not read
   *  them back (which makes an object per entry, and old-space garbage
   *  the agent's RSS keeps). */
  holds?(maps: M, state: S): boolean;
  /** The same answer from a walk of the maps on another thread; what they
   *  are compared with is taken from state at the call. */
  holdsLater?(maps: M, state: S): Promise<boolean>;
  /** Takes state over: the plan's next may share and update it. */
  plan(state: S, desired: D[]): P;
  /** The sync's outcome, from its plans (two when deletions made room). */
  report(plans: P[]): R;
}

export class Reconciler<S, D, M, P extends Plan<S, M>, R> {
  private state?: S;
  private reads = 0;
  /** reads when the last full sync checked or read the maps. */
  private readsChecked = 0;
  private readonly check = new MapCheck();

  constructor(
    private readonly maps: M,
    private readonly planner: LbPlanner<S, D, M, P, R>,
  ) {}

  /** What the last sync programmed; undefined while the next one has to
   *  read the maps first (before the first, after a failed write). */
  get programmed(): S | undefined {
    return this.state;
  }

  /** How many times the maps were read back. */
  get readBacks(): number {
    return this.reads;
  }

  /** Reads the programmed state from the maps. */
  adopt(): S {
    this.reads++;
    this.state = this.planner.read(this.maps, this.state);
    return this.state;
  }

  /** Reads the maps again, then syncs: entries changed, added or deleted
   *  behind the agent's back are put right. Maps that hold exactly what the
   *  last sync left are not read back. With drifted, that check runs on
   *  another thread after the sync, so that changes need not wait for it;
   *  when it finds the maps changed, the next sync reads them back, and
   *  drifted is called to ask for one. */
  repair(desired: D[], drifted?: () => void): R {
    const { planner, maps } = this;
    const holdsLater = planner.holdsLater?.bind(planner);
    if (drifted && holdsLater && this.state && !this.check.overdue) {
      const r = this.sync(desired);
      // Maps read back since the last full sync (at start, after a drift) need no check yet:
      // at 100k services the walk would only compete with the changes that follow.
      const fresh = this.reads !== this.readsChecked;
      this.readsChecked = this.reads;
      if (fresh) return r;
      const state = this.state;
      const lost = () => {
        this.state = undefined;
        drifted();
      };
      if (state) this.check.start(() => holdsLater(maps, state), lost);
      return r;
    }
    if (!this.state || !planner.holds?.(maps, this.state)) this.adopt();
    this.check.settled();
    this.readsChecked = this.reads;
    return this.sync(desired);
  }

  sync(desired: D[]): R {
    const start = this.state ?? this.adopt();
    // Unknown until the writes are done: a failure leaves the next sync to read the maps.
    this.state = undefined;
    const plans = [this.planner.plan(start, desired)];
    this.apply(plans[0]);
    // Deletions free their entries only at the end of a plan, so what did not fit may fit now.
    if (plans[0].skipped.length > 0 && plans[0].deletes > 0) {
      plans.push(this.planner.plan(plans[0].next, desired));
      this.apply(plans[1]);
    }
    const last = plans[plans.length - 1];
    this.state = last.next;
    return this.planner.report(plans);
  }

  private apply(plan: P): void {
    if (plan.writes > 0) this.check.wrote();
    applyPlan(this.maps, plan);
  }
}
