// Durations of the agent's own work (syncs, table builds, reads), for logs
// and metrics: from the monotonic clock, which no clock step can turn back.

/** Starts timing; the function returned gives the milliseconds since. */
export function stopwatch(): () => number {
  const start = process.hrtime.bigint();
  return () => Number(process.hrtime.bigint() - start) / 1e6;
}
