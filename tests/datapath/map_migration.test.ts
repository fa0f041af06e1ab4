// Pinned maps migrated, not flushed (native/src/map_migration.h): a load
// that finds a map at another capacity, or in an older layout the addon
// knows (native/src/map_layouts.cc), re-makes it with every entry; one that
// finds a migration cut short resumes it from the old map. The refusals
// are in native_errors.test.ts, the migration under traffic in faults.test.ts.
import * as fs from 'fs';
import * as path from 'path';
import { ensureBpffs } from '../../lib/bpffs';
import { loadAddon, OpenOptions, repoRoot } from '../../lib/datapath/native';
import { createLogger } from '../../lib/log';
import { edgeOptions } from '../bpf/xdp_fixture';
import { BpfRoot, createBpfRoot } from '../helpers/bpf_root';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';

const backend = { id: 7, addr: '198.18.0.11', port: 80, svcId: 1 };

describe('pinned map migration', () => {
  let root: BpfRoot;
  let opts: OpenOptions;

  beforeAll(() => assertPrivileged());
  beforeEach(() => {
    root = createBpfRoot('migrate');
    ensureBpffs(root.path, createLogger('error')); // as the agent does
    opts = { objectPath: path.join(repoRoot(), 'bpf', 'sock_lb.o'), mapDir: path.join(root.path, 'kpr', 'maps'), lbMapMax: 1024, revNatMapMax: 1024 };
  });
  afterEach(() => root.destroy());

  const pin = (name: string) => path.join(opts.mapDir, name);

  test('another capacity: the map is re-made at it with every entry', () => {
    const dp = loadAddon().openDatapath(opts);
    dp.updateBackends([backend, { ...backend, id: 8 }, { ...backend, id: 9 }]);
    dp.close();
    const grown = loadAddon().openDatapath({ ...opts, lbMapMax: 2048 });
    expect(grown.migrations()).toContainEqual({ map: 'kpr_backends', fromEntries: 1024, toEntries: 2048, copied: 3 });
    expect(grown.dumpBackends().map((b) => b.id).sort()).toEqual([7, 8, 9]);
    expect(grown.settleMigratedMaps()).toBe(0); // no program wrote to the old maps meanwhile
    grown.close();
    const maps = loadAddon().kernelStatus({ mapDir: opts.mapDir, linkDir: opts.mapDir }).maps;
    expect(maps).toContainEqual(expect.objectContaining({ name: 'kpr_backends', maxEntries: 2048, entries: 3 }));
    expect(maps.map((m) => m.name).filter((n) => n.includes('migrating'))).toEqual([]);
  });

  test("an older layout (edge backends before DSR) is converted: node_addr zero, the backend on this node", () => {
    fs.mkdirSync(opts.mapDir, { recursive: true });
    const bytes = (n: number[]) => n.map(String);
    run('bpftool', ['map', 'create', pin('kpr_edge_backends'), 'type', 'array', 'key', '4', 'value', '24', 'entries', '65', 'name', 'kpr_edge_backends']);
    // id 3: 198.18.10.11, port 8080 (network order), IPv4, svc_id 5
    const value = [198, 18, 10, 11, ...Array(12).fill(0), 0x1f, 0x90, 2, 0, 5, 0, 0, 0];
    run('bpftool', ['map', 'update', 'pinned', pin('kpr_edge_backends'), 'key', ...bytes([3, 0, 0, 0]), 'value', ...bytes(value)]);
    const dp = loadAddon().openEdgeDatapath(edgeOptions(opts.mapDir, { backendMax: 64 }));
    try {
      expect(dp.migrations()).toEqual([
        { map: 'kpr_edge_backends', fromEntries: 65, toEntries: 65, copied: 1, fromLayout: 'backends before DSR, all on this node' },
      ]);
      expect(dp.dumpBackends()).toEqual([{ id: 3, addr: '198.18.10.11', port: 8080, svcId: 5 }]);
    } finally {
      dp.close();
    }
  });

  test('a migration cut short (the old map still pinned aside) is resumed from the old map', () => {
    const dp = loadAddon().openDatapath(opts);
    dp.updateBackends([backend]);
    dp.close();
    // As an agent killed mid-copy leaves it: the old map aside, a new empty one in its place.
    run('bpftool', ['map', 'pin', 'pinned', pin('kpr_backends'), pin('kpr_backends__migrating')]);
    fs.unlinkSync(pin('kpr_backends'));
    run('bpftool', ['map', 'create', pin('kpr_backends'), 'type', 'hash', 'key', '4', 'value', '24', 'entries', '2048', 'name', 'kpr_backends', 'flags', '1']);
    const again = loadAddon().openDatapath({ ...opts, lbMapMax: 2048 });
    try {
      expect(again.migrations()).toContainEqual({ map: 'kpr_backends', fromEntries: 1024, toEntries: 2048, copied: 1 });
      expect(again.dumpBackends()).toEqual([backend]);
    } finally {
      again.close();
    }
    expect(fs.existsSync(pin('kpr_backends__migrating'))).toBe(false);
  });

  test('a build the verifier refuses rolls its migration back: the old maps stay pinned, entries and all', () => {
    const dp = loadAddon().openDatapath(opts);
    dp.updateBackends([backend]);
    dp.close();
    const rejected = path.join(repoRoot(), 'build', 'verifier_reject.o');
    expect(() => loadAddon().openDatapath({ ...opts, objectPath: rejected, lbMapMax: 2048 })).toThrow(/invalid access to map value/);
    const maps = loadAddon().kernelStatus({ mapDir: opts.mapDir, linkDir: opts.mapDir }).maps;
    expect(maps).toContainEqual(expect.objectContaining({ name: 'kpr_backends', maxEntries: 1024, entries: 1 }));
    expect(maps.map((m) => m.name).filter((n) => n.includes('migrating'))).toEqual([]);
  });
});
