// `kpr maglev compute` and `kpr maglev FRONTEND` as an operator runs them: the JSON that tools compare
// across nodes, the share table people read, and exit status 2 with the line
// at fault for a bad backends file or a table size that is not allowed.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { pinPaths } from '../../lib/host/bpffs';
import { computeMaglev, DEFAULT_MAGLEV_SEED } from '../../lib/datapath/edge/maglev';
import { loadAddon, repoRoot } from '../../lib/datapath/native';
import { edgeConfig, edgeOptions, openBpfRoot } from '../bpf/xdp_fixture';
import { BpfRoot } from '../helpers/bpf_root';
import { assertPrivileged } from '../helpers/preflight';
import { createTestDir, TestDir } from '../helpers/test_dir';

const BACKENDS = `# web backends
198.18.0.12:8080
[FD00:198:18:0::11]:8080   # the same as fd00:198:18::11

198.18.0.11:8080
198.18.0.12:8080
`;

describe('kpr maglev compute', () => {
  let dir: TestDir;
  beforeEach(() => (dir = createTestDir('maglev-cli')));
  afterEach(() => dir.destroy());

  function kpr(file: string, text: string, ...flags: string[]) {
    fs.writeFileSync(path.join(dir.path, file), text);
    const r = spawnSync(path.join(repoRoot(), 'bin', 'kpr'), ['maglev', 'compute', '--backends-file', path.join(dir.path, file), ...flags], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  test('-o json: size, seed, the sorted canonical backends, the table and its digest', () => {
    const r = kpr('backends', BACKENDS, '--size', '251', '-o', 'json');
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const out = JSON.parse(r.stdout);
    const expected = computeMaglev({ backends: ['198.18.0.11:8080', '198.18.0.12:8080', '[fd00:198:18::11]:8080'], size: 251, seed: DEFAULT_MAGLEV_SEED });
    expect(out).toEqual({ size: 251, seed: DEFAULT_MAGLEV_SEED, backends: expected.backends, table: Array.from(expected.table), digest: expected.digest });
  });

  test('the default output: each backend with its entries and share, and the digest', () => {
    const r = kpr('backends', BACKENDS, '--seed', '42');
    const t = computeMaglev({ backends: ['198.18.0.11:8080', '198.18.0.12:8080', '[fd00:198:18::11]:8080'], size: 16381, seed: 42 });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(
      `size 16381, seed 42, 3 backends, digest ${t.digest}\n\n` +
        'BACKEND                 ENTRIES  SHARE\n' +
        '198.18.0.11:8080        5461     33.34%\n' +
        '198.18.0.12:8080        5460     33.33%\n' +
        '[fd00:198:18::11]:8080  5460     33.33%\n',
    );
  });

  test('bad lines are reported with their numbers, exit 2', () => {
    const r = kpr('backends', '198.18.0.11:8080\nweb-1:8080\n198.18.0.12\n\nfd00:198:18::11:8080\n');
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('line 2: "web-1:8080" is not an IP:port address');
    expect(r.stderr).toContain('line 3: "198.18.0.12" has no port from 1 to 65535');
    expect(r.stderr).toContain('line 5: "fd00:198:18::11:8080" has no port from 1 to 65535 (IPv6: [addr]:port)');
    expect(r.stderr).not.toContain('line 1');
  });

  test('a size that is not an allowed prime, a file without backends, a missing file: exit 2', () => {
    const size = kpr('backends', BACKENDS, '--size', '65536');
    expect(size.status).toBe(2);
    expect(size.stderr).toContain('kpr maglev compute: maglev table size 65536 is not a prime from 251 to 131071');
    const range = kpr('backends', BACKENDS, '--size', '250');
    expect(range.status).toBe(2);
    expect(range.stderr).toContain('kpr maglev compute: flag --size must be an integer from 251 to 131071, got "250"');
    const empty = kpr('empty', '# nothing yet\n\n');
    expect(empty.status).toBe(2);
    expect(empty.stderr).toMatch(/--backends-file .*empty: no backends/);
    const missing = spawnSync(path.join(repoRoot(), 'bin', 'kpr'), ['maglev', 'compute', '--backends-file', path.join(dir.path, 'nothing')], { encoding: 'utf8' });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--backends-file .*nothing: ENOENT/);
  });
});

// `kpr maglev FRONTEND` reads the table a node holds back from its pinned
// maps; its digest must be the one kpr maglev compute gives for the same
// backends, size and seed, whatever backend ids the agent happened to use.
describe('kpr maglev FRONTEND', () => {
  const M = 251;
  const SEED = 42;
  const NAMES = ['198.18.0.11:8080', '198.18.0.12:8080', '[fd00:198:18::11]:8080'];
  let root: BpfRoot;
  let dir: TestDir;

  beforeAll(() => assertPrivileged());
  beforeEach(() => {
    root = openBpfRoot('maglev-show');
    dir = createTestDir('maglev-show');
    const dp = loadAddon().openEdgeDatapath(edgeOptions(pinPaths(root.path).maps, { maglevTableSize: M }));
    try {
      dp.setConfig(edgeConfig({ hashSeed: SEED }));
      const t = computeMaglev({ backends: NAMES, size: M, seed: SEED });
      // Ids in reverse name order: the CLI must map them back to the sorted names.
      const ids = t.backends.map((_, i) => 30 - i);
      dp.updateBackends(t.backends.map((name, i) => {
        const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(name) as RegExpExecArray;
        return { id: ids[i], addr: m[1], port: Number(m[2]), svcId: 5 };
      }));
      dp.setMaglevTable(5, Array.from(t.table, (i) => ids[i]));
      dp.updateFrontends([{ addr: '198.18.100.1', port: 80, proto: 'TCP', svcId: 5, count: 3, affinityTimeout: 0, sourceRanges: false, mode: 'dsr', algorithm: 'maglev', noBackend: 'reject' }]);
    } finally {
      dp.close();
    }
  });
  afterEach(() => {
    root.destroy();
    dir.destroy();
  });

  const kpr = (...args: string[]) => spawnSync(path.join(repoRoot(), 'bin', 'kpr'), ['maglev', ...args], { encoding: 'utf8', timeout: 30_000 });

  test('-o json: the same size, seed, backends, table and digest as kpr maglev compute', () => {
    fs.writeFileSync(path.join(dir.path, 'backends'), NAMES.join('\n'));
    const shown = kpr('198.18.100.1:80/TCP', '--bpf-root', root.path, '-o', 'json');
    expect(shown.stderr).toBe('');
    const computed = kpr('compute', '--backends-file', path.join(dir.path, 'backends'), '--size', String(M), '--seed', String(SEED), '-o', 'json');
    expect(JSON.parse(shown.stdout)).toEqual(JSON.parse(computed.stdout));
  });

  test('the share table, under a heading naming the frontend', () => {
    const r = kpr('198.18.100.1:80', '--bpf-root', root.path);
    expect(r.status).toBe(0);
    const t = computeMaglev({ backends: NAMES, size: M, seed: SEED });
    expect(r.stdout.split('\n').slice(0, 2)).toEqual(['frontend 198.18.100.1:80/TCP, service id 5, maglev', `size ${M}, seed ${SEED}, 3 backends, digest ${t.digest}`]);
  });

  test('a frontend not programmed: exit 1 saying so; not a frontend: exit 2', () => {
    const absent = kpr('198.18.100.2:80/TCP', '--bpf-root', root.path);
    expect(absent.status).toBe(1);
    expect(absent.stderr).toContain('no edge frontend 198.18.100.2:80/TCP is programmed');
    const bad = kpr('web:80', '--bpf-root', root.path);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('kpr maglev: "web:80" is not a frontend');
  });
});
