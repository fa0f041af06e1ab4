// `kpr maglev compute` as an operator runs it: the JSON that tools compare
// across nodes, the share table people read, and exit status 2 with the line
// at fault for a bad backends file or a table size that is not allowed.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { computeMaglev, DEFAULT_MAGLEV_SEED } from '../../lib/datapath/maglev';
import { repoRoot } from '../../lib/datapath/native';
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
