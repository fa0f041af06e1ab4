// The cluster's long-lived processes outlive `make cluster`: each is started
// detached with its log in logs/<name>.log and its pid in pids/<name>.pid. A
// pid counts as ours only while its command line names the state dir (or a
// path under it), so a stale pid file after a reboot never makes us signal a
// stranger.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { processArgv } from '../helpers/process_argv';
import { sleep } from '../helpers/sleep';
import { logDir, stateDir } from './layout';

const STOP_GRACE_MS = 10_000;
const POLL_MS = 100;

function pidFile(name: string): string {
  return path.join(stateDir(), 'pids', `${name}.pid`);
}

export function logFile(name: string): string {
  return path.join(logDir(), `${name}.log`);
}

/** The live pid of daemon `name`, if it runs. */
export function daemonPid(name: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile(name), 'utf8').trim());
  } catch {
    return undefined;
  }
  // A zombie has an empty command line: it no longer runs.
  return namesDir(pid, stateDir()) ? pid : undefined;
}

/** Whether an argument is dir or names a path under it (inside a shell script or an option, too). */
function namesDir(pid: number, dir: string): boolean {
  return (processArgv(pid) ?? []).some((a) => a === dir || a.includes(`${dir}/`));
}

export function startDaemon(name: string, cmd: string, args: string[], env?: NodeJS.ProcessEnv): number {
  fs.mkdirSync(logDir(), { recursive: true });
  fs.mkdirSync(path.dirname(pidFile(name)), { recursive: true });
  const log = fs.openSync(logFile(name), 'a');
  fs.writeSync(log, `--- ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`);
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', log, log], env: env ?? process.env });
  fs.closeSync(log);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${cmd})`);
  fs.writeFileSync(pidFile(name), `${child.pid}\n`);
  child.unref();
  return child.pid;
}

export function logTail(name: string, lines = 30): string {
  try {
    return fs.readFileSync(logFile(name), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// A zombie (empty command line) counts as gone: it holds no namespace, mount or
// cgroup any more, and reaping it is init's business, which here takes seconds.
function alive(pid: number): boolean {
  return (processArgv(pid) ?? []).length > 0;
}

/** SIGTERM, then SIGKILL after the grace period; no-op when it does not run. */
export async function stopDaemon(name: string, graceMs = STOP_GRACE_MS): Promise<void> {
  const pid = daemonPid(name);
  fs.rmSync(pidFile(name), { force: true });
  if (pid === undefined) return;
  await killAndWait([pid], graceMs);
}

export async function killAndWait(pids: number[], graceMs: number): Promise<void> {
  const signal = (sig: NodeJS.Signals) =>
    pids.forEach((pid) => {
      try {
        process.kill(pid, sig);
      } catch {
        // exited meanwhile
      }
    });
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < deadline) await sleep(POLL_MS);
  signal('SIGKILL');
  while (pids.some(alive)) await sleep(POLL_MS);
}

/** Every process whose command line names a path under dir (default: the state dir): daemons, containerd's shims. */
export function processesOfState(dir = stateDir()): number[] {
  return fs
    .readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .map(Number)
    .filter((pid) => namesDir(pid, dir));
}

/** Polls probe until it holds; fails with the daemon's log tail when it exits or time runs out. */
export async function waitFor(what: string, daemon: string | undefined, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    const gone = daemon !== undefined && daemonPid(daemon) === undefined;
    if (gone || Date.now() >= deadline) {
      const why = gone ? `${daemon} exited` : `not after ${Math.round(timeoutMs / 1000)} s`;
      const tail = daemon ? `\n--- ${logFile(daemon)} ---\n${logTail(daemon)}` : '';
      throw new Error(`${what}: ${why}${tail}`);
    }
    await sleep(500);
  }
}
