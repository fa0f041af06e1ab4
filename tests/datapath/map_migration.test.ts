// Pinned maps migrated, not flushed (native/src/map_migration.h): a load
// that finds a map at another capacity, or in an older layout the addon
// knows (native/src/map_layouts.cc), re-makes it with every entry; one that
// finds a migration cut short resumes it from the old map. The refusals
// are in native_errors.test.ts, the migration under traffic in faults.test.ts.
import * as fs from 'fs';
import * as path from 'path';
import { loadAddon, repoRoot, SocketOpenOptions } from '../../lib/datapath/native';
import { edgeOptions, openBpfRoot, socketOptions } from '../bpf/xdp_fixture';
import { BpfRoot } from '../helpers/bpf_root';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';

const backend = { id: 7, addr: '198.18.0.11', port: 80, svcId: 1 };

describe('pinned map migration', () => {
  let root: BpfRoot;
  let opts: SocketOpenOptions;

  beforeAll(() => assertPrivileged());
  beforeEach(() => {
    root = openBpfRoot('migrate');
    opts = socketOptions(path.join(root.path, 'kpr', 'maps'));
  });
  afterEach(() => root.destroy());

  const pin = (name: string) => path.join(opts.mapDir, name);

  test('another capacity: the map is re-made at it with every entry', () => {
    const dp = loadAddon().openSocketDatapath(opts);
    dp.updateBackends([backend, { ...backend, id: 8 }, { ...backend, id: 9 }]);
    dp.close();
    const grown = loadAddon().openSocketDatapath({ ...opts, lbMapMax: 2048 });
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

  test('the per-flow maps of the build before flow lifetimes are converted: their flows live on, established and seen now', () => {
    fs.mkdirSync(opts.mapDir, { recursive: true });
    const bytes = (n: number[]) => n.map(String);
    const addr = (a: number[]) => [...a, ...Array(16 - a.length).fill(0)];
    const create = (name: string, type: string, key: number, value: number, entries: number) =>
      run('bpftool', ['map', 'create', pin(name), 'type', type, 'key', String(key), 'value', String(value), 'entries', String(entries), 'name', name]);
    const update = (name: string, key: number[], value: number[]) => run('bpftool', ['map', 'update', 'pinned', pin(name), 'key', ...bytes(key), 'value', ...bytes(value)]);
    const lookup = (name: string, key: number[]) =>
      (JSON.parse(run('bpftool', ['-j', 'map', 'lookup', 'pinned', pin(name), 'key', ...bytes(key)])) as { value: string[] }).value.map(Number);
    const backendAddr = addr([198, 18, 11, 11]);
    const nodeAddr = addr([198, 18, 0, 2]);
    const clientAddr = addr([198, 18, 0, 1]);
    // A snat flow: backend 198.18.11.11:8080 answers node 198.18.0.2 on port 40000 (TCP);
    // its client 198.18.0.1:42000 asked 198.18.100.1:80 of service 1.
    const snatKey = [...backendAddr, ...nodeAddr, 0x1f, 0x90, 0x9c, 0x40, 6, 2, 0, 0];
    create('kpr_edge_snat', 'lru_hash', 40, 40, 1024);
    update('kpr_edge_snat', snatKey, [...clientAddr, ...addr([198, 18, 100, 1]), 0, 80, 0xa4, 0x10, 1, 0, 0, 0]);
    const pointer = [...clientAddr, ...backendAddr, 0xa4, 0x10, 0x1f, 0x90, 6, 2, 0, 0];
    create('kpr_edge_snat_ports', 'lru_hash', 40, 2, 1024);
    update('kpr_edge_snat_ports', pointer, [0x9c, 0x40]);
    // A flow to a local backend: its replies leave as 198.18.100.1:80.
    const revnatKey = [...backendAddr, ...clientAddr, 0x1f, 0x90, 0xa4, 0x11, 6, 2, 0, 0];
    create('kpr_edge_revnat', 'lru_hash', 40, 20, 4096);
    update('kpr_edge_revnat', revnatKey, [...addr([198, 18, 100, 1]), 0, 80, 0, 0]);
    create('kpr_xdp_config', 'array', 4, 28, 1);
    update('kpr_xdp_config', [0, 0, 0, 0], [198, 18, 0, 2, ...Array(16).fill(0), 251, 0, 0, 0, 7, 0, 0, 0]);

    // A flow entry as the build before flow lifetimes wrote it: client 198.18.0.1:42002, service 1, backend 4.
    const flowKey = [198, 18, 0, 1, 1, 0, 0, 0, 0xa4, 0x12, 6, 0];
    create('kpr_edge_flows4', 'lru_hash', 12, 16, 4096);
    update('kpr_edge_flows4', flowKey, [...Array(8).fill(0), 4, 0, 0, 0, 0, 0, 0, 0]);

    const dp = loadAddon().openEdgeDatapath(edgeOptions(opts.mapDir));
    try {
      expect(dp.migrations().map((m) => [m.map, m.copied, m.fromLayout]).sort()).toEqual([
        ['kpr_edge_flows4', 1, 'flows before flow lifetimes'],
        ['kpr_edge_revnat', 1, 'reverse NAT before flow lifetimes'],
        ['kpr_edge_snat', 1, 'snat flows before flow lifetimes'],
        ['kpr_edge_snat_ports', 1, 'snat ports before flow lifetimes (an LRU hash)'],
        ['kpr_xdp_config', 1, 'the edge config before flow lifetimes'],
      ]);
      expect(dp.readConfig()).toMatchObject({ nodeAddr4: '198.18.0.2', hashSeed: 7 });
      const maps = loadAddon().kernelStatus({ mapDir: opts.mapDir, linkDir: opts.mapDir }).maps;
      expect(maps).toContainEqual(expect.objectContaining({ name: 'kpr_edge_snat', type: 'hash', entries: 1 }));
      expect(maps).toContainEqual(expect.objectContaining({ name: 'kpr_edge_snat_ports', type: 'hash', entries: 1 }));
      expect(lookup('kpr_edge_snat_ports', pointer)).toEqual([0x9c, 0x40]);
      // The datapath clock (whole seconds of the coarse monotonic clock): seen now, established and answered.
      const nowS = Math.floor(Number(process.hrtime.bigint()) / 1e9);
      const flows: [string, number[], number, number][] = [
        ['kpr_edge_snat', snatKey, 40, 44],
        ['kpr_edge_revnat', revnatKey, 20, 18],
        ['kpr_edge_flows4', flowKey, 4, 8],
      ];
      for (const [name, key, seenAt, stateAt] of flows) {
        const value = Buffer.from(lookup(name, key));
        expect(value.readUInt32LE(seenAt)).toBeGreaterThan(nowS - 60);
        expect(value.readUInt32LE(seenAt)).toBeLessThanOrEqual(nowS + 1);
        expect(value[stateAt]).toBe(0x11); // KPR_CT_ESTABLISHED | KPR_CT_REPLIED
      }
      expect(Buffer.from(lookup('kpr_edge_flows4', flowKey)).readUInt32LE(0)).toBe(4);
    } finally {
      dp.close();
    }
  });

  test("the flow maps of the build before the snat port's check are converted: each flow keeps its backend, state and port, checked in no second", () => {
    fs.mkdirSync(opts.mapDir, { recursive: true });
    const bytes = (n: number[]) => n.map(String);
    // client 198.18.0.1:42002 (TCP) of service 1: backend 4, seen at clock second 1000, established, snat port 40000
    const key4 = [198, 18, 0, 1, 1, 0, 0, 0, 0xa4, 0x12, 6, 0];
    const key6 = [0x20, 0x01, 0x0d, 0xb8, ...Array(11).fill(0), 1, 1, 0, 0, 0, 0xa4, 0x12, 6, 0];
    const value = [4, 0, 0, 0, 0xe8, 0x03, 0, 0, 0x01, 0, 0x9c, 0x40];
    const flowMaps = [['kpr_edge_flows4', key4], ['kpr_edge_flows6', key6]] as const;
    for (const [name, key] of flowMaps) {
      run('bpftool', ['map', 'create', pin(name), 'type', 'lru_hash', 'key', String(key.length), 'value', '12', 'entries', '4096', 'name', name]);
      run('bpftool', ['map', 'update', 'pinned', pin(name), 'key', ...bytes(key), 'value', ...bytes(value)]);
    }
    const dp = loadAddon().openEdgeDatapath(edgeOptions(opts.mapDir));
    try {
      expect(dp.migrations().map((m) => [m.map, m.copied, m.fromLayout]).sort()).toEqual([
        ['kpr_edge_flows4', 1, "flows before the snat port's check"],
        ['kpr_edge_flows6', 1, "flows before the snat port's check"],
      ]);
      for (const [name, key] of flowMaps) {
        const got = (JSON.parse(run('bpftool', ['-j', 'map', 'lookup', 'pinned', pin(name), 'key', ...bytes(key)])) as { value: string[] }).value.map(Number);
        // edge_flow_val: the old 12 bytes, then snat_checked_s 0 and no frontend
        expect(got).toEqual([...value, ...Array(got.length - value.length).fill(0)]);
        expect(got.length).toBeGreaterThan(value.length);
      }
    } finally {
      dp.close();
    }
  });

  test('a migration cut short (the old map still pinned aside) is resumed from the old map', () => {
    const dp = loadAddon().openSocketDatapath(opts);
    dp.updateBackends([backend]);
    dp.close();
    // As an agent killed mid-copy leaves it: the old map aside, a new empty one in its place.
    run('bpftool', ['map', 'pin', 'pinned', pin('kpr_backends'), pin('kpr_backends__migrating')]);
    fs.unlinkSync(pin('kpr_backends'));
    run('bpftool', ['map', 'create', pin('kpr_backends'), 'type', 'hash', 'key', '4', 'value', '24', 'entries', '2048', 'name', 'kpr_backends', 'flags', '1']);
    const again = loadAddon().openSocketDatapath({ ...opts, lbMapMax: 2048 });
    try {
      expect(again.migrations()).toContainEqual({ map: 'kpr_backends', fromEntries: 1024, toEntries: 2048, copied: 1 });
      expect(again.dumpBackends()).toEqual([backend]);
    } finally {
      again.close();
    }
    expect(fs.existsSync(pin('kpr_backends__migrating'))).toBe(false);
  });

  test('a build the verifier refuses rolls its migration back: the old maps stay pinned, entries and all', () => {
    const dp = loadAddon().openSocketDatapath(opts);
    dp.updateBackends([backend]);
    dp.close();
    const rejected = path.join(repoRoot(), 'build', 'verifier_reject.o');
    expect(() => loadAddon().openSocketDatapath({ ...opts, objectPath: rejected, lbMapMax: 2048 })).toThrow(/invalid access to map value/);
    const maps = loadAddon().kernelStatus({ mapDir: opts.mapDir, linkDir: opts.mapDir }).maps;
    expect(maps).toContainEqual(expect.objectContaining({ name: 'kpr_backends', maxEntries: 1024, entries: 1 }));
    expect(maps.map((m) => m.name).filter((n) => n.includes('migrating'))).toEqual([]);
  });
});
