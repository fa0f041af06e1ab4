// The full sync's check against the real maps: the addon's digest of what
// kpr_services and kpr_backends hold (native/src/map_digest.h) equals the
// agent's digest of the state it wrote (socket/map_digest.ts) for every kind
// of entry, differs after any change made behind the agent's back, and the
// reconciler reads the maps back only then. The digest the plans keep up to
// date equals the state's counted afresh throughout.
import * as path from 'path';
import { loadAddon, SocketDatapath, SocketMaps } from '../../lib/datapath/native';
import { backendsDigest, rangesDigest } from '../../lib/datapath/socket/map_digest';
import { digestsOf, SocketReconciler } from '../../lib/datapath/socket/reconciler';
import { Frontend } from '../../lib/model/frontend';
import { canonicalIp } from '../../lib/model/ip_address';
import { Protocol } from '../../lib/model/protocol';
import { openBpfRoot, socketOptions } from '../bpf/xdp_fixture';
import { BpfRoot } from '../helpers/bpf_root';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';
import { waitFor } from '../helpers/sleep';


const frontend = (addr: string, port: number, proto: Protocol, backends: string[], affinityTimeout = 0): Frontend => ({
  kind: 'ClusterIP',
  addr,
  port,
  proto,
  serviceName: `default/${addr}-${port}`,
  portName: '',
  affinityTimeout,
  backends: backends.map((a) => ({ addr: a, port: 8080 })),
  externalBackends: [],
  sourceRanges: [],
});

// IPv6 addresses whose text is easy to get wrong: one glibc's inet_ntop
// would print with a dotted IPv4 tail (::198.18.0.1), a lone zero group
// beside a run, two runs of which the longer wins, two as long of which the
// first wins, and no run at all.
const V6 = ['::c612:1', 'fd00:0:198:19::9', 'fd00:0:0:19:1::', 'fd00::19:1:0:0:7', 'fd00:198:0:19:1:2:3:4'];
const DESIRED: Frontend[] = [
  frontend('198.19.0.1', 80, 'TCP', ['198.18.1.1', '198.18.1.2'], 10800),
  frontend('198.19.0.1', 53, 'UDP', ['198.18.1.3']),
  frontend('198.19.0.2', 80, 'TCP', []),
  ...V6.map((addr, i) => frontend(addr, 3868, 'SCTP', [`fd00:198:18:1::${i + 1}`, `fd00:198:18:1:0:${i + 1}::`])),
];

describe('socket maps digest against the real maps', () => {
  let root: BpfRoot;
  let dp: SocketDatapath;
  let reads: number;
  let reconciler: SocketReconciler;
  const state = () => {
    const s = reconciler.programmed;
    if (!s) throw new Error('nothing programmed');
    return s;
  };
  /** The maps' digests equal the ones the plans kept, and those equal the state's counted afresh. */
  const same = () => {
    const kept = digestsOf(state());
    expect(kept).toEqual(digestsOf({ ...state(), index: undefined }));
    const held = dp.mapDigests();
    return held.services === kept.services && held.backends === kept.backends;
  };

  beforeAll(() => assertPrivileged());
  beforeEach(() => {
    root = openBpfRoot('digest');
    dp = loadAddon().openSocketDatapath(socketOptions(path.join(root.path, 'kpr', 'maps')));
    reads = 0;
    // The addon's methods need the addon's object as `this`.
    const counted = new Proxy(dp, {
      get: (target, name: keyof SocketMaps) => {
        if (name === 'dumpServices') reads++;
        const v = target[name];
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    reconciler = new SocketReconciler(counted, { lbMapMax: 1024 });
    reconciler.adopt();
    reads = 0;
    reconciler.sync(DESIRED);
  });
  afterEach(() => {
    dp.close();
    root.destroy();
  });

  test('what a sync wrote digests alike on both sides, and a full sync then reads nothing back', () => {
    expect(V6.map((a) => canonicalIp(a))).toEqual(V6);
    expect(dp.dumpServices()).toHaveLength(3 + 2 + 1 + V6.length * 3);
    expect(new Set(dp.dumpServices().map((s) => s.addr))).toEqual(new Set(DESIRED.map((f) => f.addr)));
    expect(same()).toBe(true);
    expect(reconciler.repair(DESIRED).writes).toBe(0);
    expect(reads).toBe(0);
  });

  const slotOf = (addr: string, port: number, slot: number) => {
    const s = dp.dumpServices().find((x) => x.addr === addr && x.port === port && x.slot === slot);
    if (!s) throw new Error(`no slot ${slot} of ${addr}:${port}`);
    return s;
  };
  test.each<[string, () => void]>([
    ['a slot pointed at another backend', () => dp.updateServices([{ ...slotOf('198.19.0.1', 80, 1), backendId: slotOf('198.19.0.1', 80, 2).backendId }])],
    ['a master deleted', () => dp.deleteServices([slotOf(V6[0], 3868, 0)])],
    ['a stray slot past the count', () => dp.updateServices([{ ...slotOf(V6[2], 3868, 2), slot: 3 }])],
    ["a master's affinity changed", () => dp.updateServices([{ ...slotOf('198.19.0.1', 80, 0), affinityTimeout: 60 }])],
    ["a backend's port changed", () => dp.updateBackends([{ ...dp.dumpBackends()[0], port: 9090 }])],
    ['a stray backend', () => dp.updateBackends([{ id: 999, addr: '198.18.1.1', port: 8080, svcId: 1 }])],
  ])('%s: the digests differ, and a full sync reads the maps back and puts it right', (_, change) => {
    change();
    expect(same()).toBe(false);
    expect(reconciler.repair(DESIRED).writes).toBeGreaterThan(0);
    expect(reads).toBe(1);
    expect(same()).toBe(true);
  });

  test('the walk on another thread answers as the one on the event loop; a drift it finds is put right by the sync it asks for', async () => {
    expect(await dp.mapDigestsLater()).toEqual(dp.mapDigests());
    dp.deleteServices([slotOf(V6[1], 3868, 1)]);
    let drifts = 0;
    // The first full sync after the maps were read (beforeEach) checks nothing; the next one does.
    expect(reconciler.repair(DESIRED, () => drifts++).writes).toBe(0);
    expect(reconciler.repair(DESIRED, () => drifts++).writes).toBe(0);
    await waitFor(() => drifts > 0, 5000, 'the check to find the deleted slot');
    expect(reads).toBe(0);
    expect(reconciler.sync(DESIRED).writes).toBeGreaterThan(0);
    expect(reads).toBe(1);
    expect(same()).toBe(true);
    expect(drifts).toBe(1);
  });

  test('the refused ranges digest alike on both sides, walked on another thread, and differ once the map does', async () => {
    const ranges = ['198.19.0.0/16', '198.19.0.1/32', 'fd00:198:19::/64', '::c612:1/128', 'fd00:0:0:19:1::/80'];
    dp.replaceServiceRanges(ranges);
    expect(await dp.serviceRangesDigestLater()).toEqual({ ranges: rangesDigest(ranges) });
    dp.replaceServiceRanges(ranges.slice(1));
    expect(await dp.serviceRangesDigestLater()).not.toEqual({ ranges: rangesDigest(ranges) });
    expect(await dp.serviceRangesDigestLater()).toEqual({ ranges: rangesDigest(ranges.slice(1)) });
  });

  test('bytes the addon never writes make the map foreign to any state', () => {
    const pin = path.join(root.path, 'kpr', 'maps', 'kpr_services');
    // 198.19.0.3:80 TCP slot 0 with its padding set; value: svc 1, count 0.
    const key = [198, 19, 0, 3, ...new Array(12).fill(0), 0, 80, 6, 2, 0, 0, 1, 0];
    const value = [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    run('bpftool', ['map', 'update', 'pinned', pin, 'key', ...key.map(String), 'value', ...value.map(String)]);
    expect(dp.mapDigests()).toEqual({ services: 'foreign', backends: backendsDigest(state().backends.values()) });
  });
});
