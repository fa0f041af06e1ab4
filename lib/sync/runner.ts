// Runs the sync the way kube-proxy's bounded-frequency runner does: a change
// asks for a run as soon as minSyncPeriod allows (counted from the end of the
// previous run, so a slow sync cannot be followed by another at once), and a
// full run comes at least every syncPeriod even when nothing changes. A
// failed run is retried. Requests that arrive while a run is due are one run.

/** What a run is for: "full" checks the programmed state against the maps,
 *  since only they show what was changed behind the agent's back. */
export type RunKind = 'changes' | 'full';

export interface RunnerOptions {
  /** No run starts sooner than this after the previous one ended; 0: at once. */
  minIntervalMs: number;
  /** A full run at least this often. */
  maxIntervalMs: number;
  /** After a failed run, the next comes this long after it (or sooner, on request). */
  retryIntervalMs: number;
}

/** Returns whether the run succeeded. */
export type RunFn = (kind: RunKind) => boolean;

export class BoundedFrequencyRunner {
  private timer?: NodeJS.Timeout;
  private started = false;
  private requested = false;
  private failedAt?: number;
  private lastEnd = -Infinity;
  /** When a full run is due; the first run is one. */
  private nextFullAt = 0;

  constructor(
    private readonly fn: RunFn,
    private readonly opts: RunnerOptions,
  ) {
    if (opts.maxIntervalMs < opts.minIntervalMs) {
      throw new Error(`syncPeriod (${opts.maxIntervalMs}ms) must not be shorter than minSyncPeriod (${opts.minIntervalMs}ms)`);
    }
  }

  /** Runs a full sync now and keeps the schedule from then on. */
  start(): void {
    this.started = true;
    this.execute('full');
  }

  /** Asks for a run as soon as minIntervalMs allows. */
  run(): void {
    this.requested = true;
    if (this.started) this.schedule();
  }

  stop(): void {
    this.started = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private dueAt(): number {
    // After a failure the retry stands in for the periodic run, which may be overdue.
    let due = this.failedAt === undefined ? this.nextFullAt : this.failedAt + this.opts.retryIntervalMs;
    if (this.requested) due = Math.min(due, Date.now());
    return Math.max(due, this.lastEnd + this.opts.minIntervalMs);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    const wait = Math.max(0, this.dueAt() - Date.now());
    this.timer = setTimeout(() => this.fire(), wait);
  }

  private fire(): void {
    this.timer = undefined;
    this.execute(Date.now() >= this.nextFullAt ? 'full' : 'changes');
  }

  private execute(kind: RunKind): void {
    this.requested = false;
    let ok = false;
    try {
      ok = this.fn(kind);
    } finally {
      this.lastEnd = Date.now();
      if (ok && kind === 'full') this.nextFullAt = this.lastEnd + this.opts.maxIntervalMs;
      this.failedAt = ok ? undefined : this.lastEnd;
      if (this.started) this.schedule();
    }
  }
}
