// The CLI's output as scripts take it: through a pipe to a reader slower than
// kpr, into a file, on a terminal, and into a reader that stops early. The
// listing is of an agent with a few thousand services, many times a pipe's
// 64 KiB, so that kpr has to wait for its reader before it may exit.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { ServiceRow } from '../../lib/cli/service_listing';
import { startAgent } from '../helpers/agent';
import { BpfRoot, createBpfRoot } from '../helpers/bpf_root';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { LineProcess } from '../helpers/line_process';
import { serviceManifest, writeManifest } from '../helpers/manifests';
import { startPipeline } from '../helpers/pipeline';
import { assertPrivileged } from '../helpers/preflight';
import { createTestDir, TestDir } from '../helpers/test_dir';

jest.setTimeout(120_000);

const KPR = path.join(repoRoot(), 'bin', 'kpr');
const SLOW_READER = path.join(__dirname, '..', 'helpers', 'slow_reader.js');
const SERVICES = 3000;
const PER_FILE = 100;
const PIPE_BYTES = 64 * 1024;
const RUN_TIMEOUT_MS = 60_000;
// A terminal of its own: runs argv on a pseudo-terminal, copying what it shows to stdout.
const ON_A_TERMINAL = 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))';

const clusterIp = (i: number) => `198.19.${Math.floor(i / 250)}.${(i % 250) + 1}`;

describe('kpr output through pipes, files and terminals', () => {
  let root: BpfRoot;
  let cgroup: TestCgroup;
  let dir: TestDir;
  let agent: LineProcess | undefined;

  beforeAll(async () => {
    assertPrivileged();
    root = createBpfRoot('cli-pipes');
    cgroup = createTestCgroup('cli-pipes');
    dir = createTestDir('cli-pipes');
    const manifests = path.join(dir.path, 'manifests');
    fs.mkdirSync(manifests);
    for (let first = 0; first < SERVICES; first += PER_FILE) {
      const docs = Array.from({ length: PER_FILE }, (_, k) => {
        const i = first + k;
        return serviceManifest({
          namespace: 'pipes',
          name: `svc-${i}`,
          clusterIPs: [clusterIp(i)],
          ports: [{ name: 'http', port: 80, targetPort: 8080 }],
          endpoints: [{ addr: `198.18.${20 + (i % 200)}.11` }, { addr: `198.18.${20 + (i % 200)}.12` }],
        });
      });
      writeManifest(manifests, `svc-${first}.yaml`, docs.join('---\n'));
    }
    agent = await startAgent({ manifests, bpfRoot: root.path, cgroupRoot: cgroup.path });
  });
  afterAll(async () => {
    await agent?.stop();
    for (const x of [root, cgroup, dir]) x?.destroy();
  });

  const services = (...flags: string[]) => [KPR, 'services', '--bpf-root', root.path, ...flags];

  test('kpr services -o json: all of it through a pipe to a slow reader, into a file and on a terminal', async () => {
    const file = path.join(dir.path, 'services.json');
    const fd = fs.openSync(file, 'w');
    const [cmd, ...args] = services('-o', 'json');
    const toFile = spawnSync(cmd, args, { stdio: ['ignore', fd, 'pipe'], encoding: 'utf8', timeout: RUN_TIMEOUT_MS });
    fs.closeSync(fd);
    expect({ status: toFile.status, stderr: toFile.stderr }).toEqual({ status: 0, stderr: '' });
    const listing = fs.readFileSync(file);
    const rows = JSON.parse(listing.toString()) as ServiceRow[];
    expect(rows.map((r) => r.frontend).sort()).toEqual(Array.from({ length: SERVICES }, (_, i) => `${clusterIp(i)}:80/TCP`).sort());
    expect(rows.every((r) => r.backends.length === 2)).toBe(true);
    expect(listing.length).toBeGreaterThan(8 * PIPE_BYTES);

    // The reader lets kpr fill the pipe, then takes it 4 KiB at a time.
    const read = path.join(dir.path, 'read.json');
    const piped = startPipeline(services('-o', 'json'), [process.execPath, SLOW_READER, read]);
    expect(await piped.waitForExit(RUN_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
    expect(piped.stderrLines).toEqual([]);
    const got = fs.readFileSync(read);
    expect(got.length).toBe(listing.length);
    expect(JSON.parse(got.toString())).toEqual(rows);

    const tty = spawnSync('python3', ['-c', ON_A_TERMINAL, ...services('-o', 'json')], { encoding: 'utf8', timeout: RUN_TIMEOUT_MS, maxBuffer: 4 * listing.length });
    expect(tty.status).toBe(0);
    // The terminal ends lines with CR LF.
    expect(tty.stdout.replace(/\r\n/g, '\n')).toBe(listing.toString());
  });

  test('kpr services | head -1: the heading, exit status 0, nothing on stderr', async () => {
    const piped = startPipeline(services(), ['head', '-n', '1']);
    expect(await piped.waitForExit(RUN_TIMEOUT_MS)).toEqual({ code: 0, signal: null });
    expect(piped.stdoutLines).toEqual([expect.stringMatching(/^FRONTEND\s+ID\s+AFFINITY/)]);
    expect(piped.stderrLines).toEqual([]);
  });
});
