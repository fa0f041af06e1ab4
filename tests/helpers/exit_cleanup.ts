// Last-resort cleanup for plain Node processes (benchmarks, the testbed CLI)
// that exit or are interrupted before calling destroy(). Under jest, `process`
// is a sandbox copy whose events never fire; there scripts/run-tests.js sweeps
// the leftovers of finished runs instead (leftovers.ts).
type Cleanup = () => void;

const pending: Cleanup[] = [];
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function runAll(): void {
  uninstall();
  // Newest first: things are torn down in the reverse order they were built.
  for (let fn = pending.pop(); fn; fn = pending.pop()) {
    try {
      fn();
    } catch (e) {
      process.stderr.write(`cleanup failed: ${(e as Error).message}\n`);
    }
  }
}

function onSignal(signal: NodeJS.Signals): void {
  runAll();
  // Re-raise so the process still dies of the signal, unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', runAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function uninstall(): void {
  process.off('exit', runAll);
  for (const s of SIGNALS) process.off(s, onSignal);
}

/** Runs fn when the process exits or is signalled; returns the unregister function. */
export function onExit(fn: Cleanup): () => void {
  if (pending.length === 0) install();
  pending.push(fn);
  return () => {
    const i = pending.indexOf(fn);
    if (i < 0) return;
    pending.splice(i, 1);
    if (pending.length === 0) uninstall();
  };
}

/** A made thing at path, removed by destroy() or, when this process owns
 *  it, at exit; another owner (the testbed CLI's caller) cleans up itself. */
export function ownedPath(path: string, owner: number, remove: (path: string) => void): { path: string; destroy(): void } {
  const unregister = owner === process.pid ? onExit(() => remove(path)) : () => undefined;
  return {
    path,
    destroy() {
      remove(path);
      unregister();
    },
  };
}
