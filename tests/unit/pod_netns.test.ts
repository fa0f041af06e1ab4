// Finding a pod's network namespace by its address (host/pod_netns.ts).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NetnsReading, PodNetns } from '../../lib/host/pod_netns';

describe('pod network namespaces by address', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-podns-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('each namespace read once while it lasts; a second path to one is the same; one gone is forgotten', () => {
    const held: Record<string, NetnsReading> = {};
    const ns = (name: string, cookie: string, addresses: string[]) => {
      fs.writeFileSync(path.join(dir, name), '');
      held[path.join(dir, name)] = { path: path.join(dir, name), cookie, addresses };
    };
    ns('a', '11', ['127.0.0.1', '198.18.1.1', 'fd00:198:18:1:0:0:0:1']);
    ns('b', '12', ['198.18.1.2']);
    fs.linkSync(path.join(dir, 'a'), path.join(dir, 'a-again'));
    const reads: string[][] = [];
    const candidates = () => fs.readdirSync(dir).sort().map((n) => path.join(dir, n));
    const netns = new PodNetns((paths) => {
      reads.push(paths.map((p) => path.basename(p)));
      return paths.map((p) => held[p] ?? { path: p, error: 'gone' });
    }, candidates);
    expect([...netns.cookies(['198.18.1.1', 'fd00:198:18:1::1', '198.18.1.9'])]).toEqual([
      ['198.18.1.1', '11'],
      ['fd00:198:18:1::1', '11'],
    ]);
    expect(reads).toEqual([['a', 'b']]);
    expect([...netns.cookies(['198.18.1.2'])]).toEqual([['198.18.1.2', '12']]);
    expect(reads).toHaveLength(1);
    fs.rmSync(path.join(dir, 'b'));
    expect([...netns.cookies(['198.18.1.2'])]).toEqual([]);
    // Nothing asked for: nothing read.
    expect(netns.cookies([]).size).toBe(0);
    expect(reads).toHaveLength(1);
  });
});
