// The form every load balancer's plan takes: the map writes that turn what
// is programmed into what is desired, as calls of that LB's maps in
// make-before-break order, with the state they leave behind. Each LB decides
// the order (socket/plan.ts, edge/plan.ts); applying and counting are here.
import { Frontend } from '../model/frontend';

export interface SkippedFrontend {
  frontend: Frontend;
  reason: string;
}

/** The methods of M that write (those that return nothing). */
type Write<M> = { [K in keyof M]: M[K] extends (...args: never[]) => infer R ? (R extends void ? K : never) : never }[keyof M];

/** A step's list made a batch at a time as the step is applied: a first
 *  sync at 100k services writes 1.1M service slots and 1M backends, which
 *  as whole lists held all their objects at once (about 150 MB), and the
 *  addon a C copy of each. */
export class Batched<T> {
  constructor(
    readonly length: number,
    private readonly make: (from: number, to: number) => T[],
  ) {}

  *batches(size: number): IterableIterator<T[]> {
    for (let from = 0; from < this.length; from += size) yield this.make(from, Math.min(this.length, from + size));
  }
}

/** Entries per call of a Batched step: few enough that a batch's objects
 *  die young, and that its list is no large object (column.ts). */
export const APPLY_BATCH = 8192;

/** A write's arguments, its list as it is or Batched. */
type Listed<A> = A extends [(infer T)[], ...infer R] ? [T[] | Batched<T>, ...R] : A;

/** One call of the LB's maps. */
export interface PlanStep<M> {
  op: Write<M>;
  args: unknown[];
  /** Map entries it writes or deletes: the items of the list it takes; a Maglev table counts as one. */
  entries: number;
}

/** The step maker for one LB's maps: step('updateBackends', backends). */
export function stepsOf<M>() {
  return <K extends Write<M>>(op: K, ...args: M[K] extends (...a: infer A) => void ? Listed<A> : never): PlanStep<M> => ({
    op,
    args,
    entries: Array.isArray(args[0]) || args[0] instanceof Batched ? args[0].length : 1,
  });
}

export interface Plan<S, M> {
  /** Only steps with entries, in the order they are to be applied. */
  steps: PlanStep<M>[];
  /** The programmed state once the steps are applied. */
  next: S;
  /** Frontends that did not fit; a programmed one stays as it was. */
  skipped: SkippedFrontend[];
  /** Map entries written or deleted. */
  writes: number;
  /** Map entries deleted: room the next plan may find. */
  deletes: number;
}

/** A plan of the steps that have entries. */
export function planOf<S, M>(steps: PlanStep<M>[], next: S, skipped: SkippedFrontend[], deletes: number): Plan<S, M> {
  const nonEmpty = steps.filter((s) => s.entries > 0);
  return { steps: nonEmpty, next, skipped, writes: nonEmpty.reduce((n, s) => n + s.entries, 0), deletes };
}

export function applyPlan<S, M>(maps: M, plan: Plan<S, M>): void {
  for (const s of plan.steps) {
    const write = maps[s.op] as (...args: unknown[]) => void;
    const [list, ...rest] = s.args;
    if (list instanceof Batched) for (const batch of list.batches(APPLY_BATCH)) write.call(maps, batch, ...rest);
    else write.apply(maps, s.args);
  }
}
