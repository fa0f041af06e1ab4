// Synchronous commands for setup and teardown, failing with the command line
// and its stderr so a broken fixture explains itself.
import { execFileSync } from 'child_process';

/** Listings of tens of thousands of flows run to megabytes (Node's default is 1 MiB). */
const MAX_OUTPUT = 256 * 1024 * 1024;

export function run(cmd: string, args: string[], timeoutMs = 30_000): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, maxBuffer: MAX_OUTPUT });
  } catch (e) {
    const err = e as { status?: number | null; signal?: string | null; stderr?: string; message: string };
    const why = err.status != null ? `exit ${err.status}` : (err.signal ?? 'spawn error');
    const stderr = (err.stderr ?? '').trim();
    throw new Error(`${[cmd, ...args].join(' ')}: ${why}: ${stderr || err.message}`);
  }
}

export function ip(...args: string[]): string {
  return run('ip', args);
}
