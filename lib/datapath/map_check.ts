// A check that maps still hold what the agent wrote, made on another thread
// (the addon walks the maps there) so that changes need not wait for it: at
// 100k services the walks take most of a second. A walk may or may not see
// writes made while it runs, so it proves something only when none were;
// checks that keep meeting writes give way to one on the event loop, or
// maps written more often than a walk takes would never be checked.

/** Checks in a row that met writes, after which the next is made on the event loop. */
export const INCONCLUSIVE_CHECKS_MAX = 3;

export class MapCheck {
  private running = false;
  private writes = 0;
  private inconclusive = 0;

  /** The agent wrote the maps this checks. */
  wrote(): void {
    this.writes++;
  }

  /** Checks met writes so often that the next is to be made on the event loop. */
  get overdue(): boolean {
    return this.inconclusive >= INCONCLUSIVE_CHECKS_MAX;
  }

  /** A check on the event loop found the maps right, or put them right. */
  settled(): void {
    this.inconclusive = 0;
  }

  /** Calls held() at once unless a check is running; drifted() when its
   *  answer is that the maps do not hold what was written, and no write was
   *  made meanwhile. A walk that fails counts as drift: reading the maps
   *  back is what follows, as after a failed write. */
  start(held: () => Promise<boolean>, drifted: () => void): void {
    if (this.running) return;
    this.running = true;
    const writes = this.writes;
    const found = (ok: boolean) => {
      this.running = false;
      if (this.writes !== writes) {
        this.inconclusive++;
        return;
      }
      this.inconclusive = 0;
      if (!ok) drifted();
    };
    held().then(found, () => found(false));
  }
}
