import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ManifestRead, readManifest } from '../../lib/sources/manifest_read';
import { readAhead } from '../../lib/sources/manifest_read_ahead';
import { MemoryLogger } from './logger';

const service = (i: number) => `apiVersion: v1\nkind: Service\nmetadata: {name: svc-${i}}\nspec: {clusterIP: 198.19.${i >> 8}.${i & 255}, ports: [{port: 80}]}\n`;

/** Files of every kind a read can end in, and enough of them for many batches. */
function writeFiles(dir: string): string[] {
  const files: Record<string, string> = {
    'broken.yaml': `${service(1)}---\nkind: [unclosed\n`,
    'numbers.yaml': 'kind: Odd\nlimits: [.inf, -.inf, .nan, -0.0, 1e300]\n',
    'alias.yaml': 'kind: Odd\nshared: &s {a: 1}\nagain: *s\n',
    'loop.yaml': 'kind: Odd\nself: &loop [*loop]\n',
    'list.json': JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ kind: 'Service' }] }),
    'twice.yaml': `${service(2)}---\n${service(2)}`,
  };
  for (let i = 0; i < 700; i++) files[`svc-${String(i).padStart(4, '0')}.yaml`] = `${service(i)}---\n${service(i + 1000)}`;
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  fs.mkdirSync(path.join(dir, 'a-directory.yaml'));
  return [...Object.keys(files), 'a-directory.yaml', 'gone.yaml'].sort();
}

/** Every file's read, and which of them the worker read. */
async function readAll(dir: string, names: string[], log: MemoryLogger, workerFile?: string): Promise<{ reads: Map<string, ManifestRead>; byWorker: Set<string> }> {
  const reads = new Map<string, ManifestRead>();
  const byWorker = new Set<string>();
  for await (const batch of readAhead(dir, names, log, workerFile)) {
    for (const [name, read] of batch) {
      expect(reads.has(name)).toBe(false);
      // A file left to the main thread: read as the manifest source reads any file.
      reads.set(name, read ?? readManifest(path.join(dir, name), name));
      if (read) byWorker.add(name);
    }
  }
  return { reads, byWorker };
}

describe('manifest files read ahead on a worker thread', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-read-ahead-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('every file once, read exactly as the main thread reads it: errors, odd numbers and aliases included', async () => {
    const names = writeFiles(dir);
    const log = new MemoryLogger();
    const { reads, byWorker } = await readAll(dir, names, log);
    expect([...reads.keys()].sort()).toEqual(names);
    expect(byWorker.size).toBeGreaterThan(0);
    for (const name of names) expect(reads.get(name)).toEqual(readManifest(path.join(dir, name), name));
    expect(reads.get('gone.yaml')).toMatchObject({ readError: { code: 'ENOENT' } });
    expect(reads.get('broken.yaml')).toEqual({ parseError: { line: expect.any(Number), reason: expect.stringMatching(/./) } });
    // Structured clone, not JSON, carried these: the values and the shape aliases give survive.
    const [odd] = (reads.get('numbers.yaml') as { chunks: { docs: { limits: number[] }[] }[] }).chunks[0].docs;
    expect(odd.limits).toEqual([Infinity, -Infinity, NaN, -0, 1e300]);
    expect(Object.is(odd.limits[3], -0)).toBe(true);
    const [aliased] = (reads.get('alias.yaml') as { chunks: { docs: { shared: object; again: object }[] }[] }).chunks[0].docs;
    expect(aliased.again).toBe(aliased.shared);
    expect(reads.get('loop.yaml')).toEqual({ parseError: { line: 1, reason: expect.stringMatching(/^nested too deeply to parse/) } });
    expect(log.lines).toEqual([]);
  });

  test('a worker that fails leaves its files to the main thread, with a warning', async () => {
    const names = writeFiles(dir);
    const log = new MemoryLogger();
    const { reads, byWorker } = await readAll(dir, names, log, path.join(dir, 'no-such-worker.js'));
    expect([...reads.keys()].sort()).toEqual(names);
    expect(byWorker.size).toBe(0);
    for (const name of names) expect(reads.get(name)).toEqual(readManifest(path.join(dir, name), name));
    expect(log.lines).toEqual([expect.stringMatching(/^warn manifests: the worker thread reading files failed \(.*no-such-worker\.js.*\); reading its \d+ files here$/)]);
  });
});
