// make cluster's daemons are found again by their command line: one that names
// the state dir as an argument of its own (the LoadBalancer provider's
// `--state <dir>`) must count, or every make cluster starts another and
// make cluster-down leaves them running.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

let cache: string;
let daemon: typeof import('../cluster/daemon');
let layout: typeof import('../cluster/layout');

beforeAll(() => {
  cache = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-daemon-'));
  process.env.KPR_CACHE = cache;
  daemon = require('../cluster/daemon');
  layout = require('../cluster/layout');
});

afterAll(() => {
  delete process.env.KPR_CACHE;
  fs.rmSync(cache, { recursive: true, force: true });
});

const idle = ['-e', 'setTimeout(() => {}, 60_000)', '--'];

/** Until the child has exec'd (its command line is its own, not its parent's). */
async function execd(pid: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('setTimeout') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

test.each([
  ['the state dir as an argument of its own', () => [...idle, '--state', layout.stateDir()]],
  ['a path under the state dir', () => [...idle, '--config', path.join(layout.stateDir(), 'x.conf')]],
])('a daemon whose command line names %s is found, listed and stopped', async (_, args) => {
  const pid = daemon.startDaemon('probe', process.execPath, args());
  try {
    await execd(pid);
    expect(daemon.daemonPid('probe')).toBe(pid);
    expect(daemon.processesOfState()).toContain(pid);
    await daemon.stopDaemon('probe', 2_000);
    expect(daemon.daemonPid('probe')).toBeUndefined();
    expect(daemon.processesOfState()).not.toContain(pid);
  } finally {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // stopped
    }
  }
});

test('a daemon whose command line does not name the state dir is not ours', async () => {
  const pid = daemon.startDaemon('stranger', process.execPath, [...idle, '--state', `${layout.stateDir()}-other`]);
  try {
    await execd(pid);
    expect(daemon.daemonPid('stranger')).toBeUndefined();
    expect(daemon.processesOfState()).not.toContain(pid);
  } finally {
    process.kill(pid, 'SIGKILL');
  }
});
