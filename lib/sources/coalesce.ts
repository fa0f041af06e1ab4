// Runs an async job after a burst of triggers has settled: editors and
// kubectl-style tools write a file in several steps, and reading it halfway
// could drop objects for a moment. A burst that never settles still runs
// after maxDelayMs, and runs never overlap; a trigger during a run causes
// one more run after it.
export class Coalescer {
  private timer?: NodeJS.Timeout;
  private burstStart = 0;
  private running = false;
  private again = false;

  constructor(
    private readonly job: () => Promise<void>,
    private readonly settleMs: number,
    private readonly maxDelayMs: number,
  ) {}

  trigger(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    const now = Date.now();
    if (this.timer) clearTimeout(this.timer);
    else this.burstStart = now;
    const wait = Math.max(0, Math.min(this.settleMs, this.burstStart + this.maxDelayMs - now));
    this.timer = setTimeout(() => void this.fire(), wait);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.again = false;
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    this.running = true;
    try {
      await this.job();
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.trigger();
      }
    }
  }
}
