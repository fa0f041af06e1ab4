import { digestsOf, SocketReconciler } from '../../lib/datapath/socket/reconciler';
import { planSocketSync } from '../../lib/datapath/socket/plan';
import { SocketState, socketState } from '../../lib/datapath/socket/programmed';
import { ServiceSlot } from '../../lib/datapath/native';
import { APPLY_BATCH } from '../../lib/datapath/plan';
import { Frontend } from '../../lib/model/frontend';
import { FakeMaps } from './fake_maps';

const fe = (addr: string, port: number, backends: string[], opts: Partial<Frontend> = {}): Frontend => ({
  kind: 'ClusterIP',
  externalBackends: [],
  sourceRanges: [],
  addr,
  port,
  proto: 'TCP',
  serviceName: `default/svc-${port}`,
  portName: '',
  affinityTimeout: 0,
  backends: backends.map((b) => {
    const i = b.lastIndexOf(':');
    return { addr: b.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(b.slice(i + 1)) };
  }),
  ...opts,
});

/** The maps' content expected for desired frontends. */
/** The digests the plans keep are the digests of what the maps hold (the full sync's check). */
function expectDigestsKept(rec: SocketReconciler, maps: FakeMaps): void {
  expect(digestsOf(rec.programmed as SocketState)).toEqual(maps.mapDigests());
}

function expectProgrammed(maps: FakeMaps, desired: Frontend[]): void {
  maps.checkTidy();
  const view = maps.view();
  const want: Record<string, { affinity: number; backends: string[] }> = {};
  for (const f of desired) want[`${f.addr}:${f.port}/${f.proto}`] = { affinity: f.affinityTimeout, backends: f.backends.map((b) => `${b.addr}:${b.port}`).sort() };
  const got: Record<string, { affinity: number; backends: string[] }> = {};
  for (const [k, v] of Object.entries(view)) got[k] = { affinity: v.affinity, backends: [...v.backends].sort() };
  expect(got).toEqual(want);
}

const LARGE = 1000;

describe('datapath plan', () => {
  test('first sync writes backends, then slots, then masters', () => {
    const maps = new FakeMaps(LARGE);
    const desired = [fe('198.19.0.1', 80, ['198.18.1.1:8080', '198.18.1.2:8080']), fe('198.19.0.2', 80, [])];
    const r = new SocketReconciler(maps, { lbMapMax: LARGE }).sync(desired);
    expect(maps.ops.map((o) => [o.op, o.items])).toEqual([
      ['updateBackends', [1, 2]],
      ['updateServices', [1, 2]],
      ['updateServices', [0, 0]],
    ]);
    expect(r).toEqual({ frontends: 2, backends: 2, writes: 6, skipped: [], udpTargets: [] });
    expectProgrammed(maps, desired);
    expect(maps.view()['198.19.0.2:80/TCP']).toEqual({ svcId: 2, affinity: 0, backends: [], ids: [] });
  });

  test(`a step of more than ${APPLY_BATCH} entries is written in batches, in order, and the maps hold them all`, () => {
    const n = APPLY_BATCH + 100;
    const maps = new FakeMaps(4 * n);
    const backends = Array.from({ length: n }, (_, i) => `198.18.${i >> 8}.${i & 255}:80`);
    const desired = [fe('198.19.0.1', 80, backends)];
    const rec = new SocketReconciler(maps, { lbMapMax: 4 * n });
    expect(rec.sync(desired).writes).toBe(2 * n + 1);
    expect(maps.ops.map((o) => [o.op, o.items.length])).toEqual([
      ['updateBackends', APPLY_BATCH],
      ['updateBackends', 100],
      ['updateServices', APPLY_BATCH],
      ['updateServices', 100],
      ['updateServices', 1],
    ]);
    expect(maps.ops[3].items[99]).toBe(n);
    expectProgrammed(maps, desired);
    expectDigestsKept(rec, maps);
  });

  test('an unchanged sync writes nothing', () => {
    const maps = new FakeMaps(LARGE);
    const rec = new SocketReconciler(maps, { lbMapMax: LARGE });
    const desired = [fe('198.19.0.1', 80, ['198.18.1.1:8080'])];
    rec.sync(desired);
    const before = maps.ops.length;
    expect(rec.sync(desired).writes).toBe(0);
    expect(maps.ops.length).toBe(before);
  });

  test('a restarted agent adopts the pinned state: no writes, same ids', () => {
    const maps = new FakeMaps(LARGE);
    const desired = [
      fe('198.19.0.1', 80, ['198.18.1.1:8080', '198.18.1.2:8080'], { affinityTimeout: 60 }),
      fe('fd00:198:18::1', 53, ['[fd00:198:18:1::1]:53'], { proto: 'UDP' }),
    ];
    new SocketReconciler(maps, { lbMapMax: LARGE }).sync(desired);
    const view = maps.view();
    const opsBefore = maps.ops.length;
    const restarted = new SocketReconciler(maps, { lbMapMax: LARGE });
    expect(restarted.sync(desired)).toEqual({ frontends: 2, backends: 3, writes: 0, skipped: [], udpTargets: [] });
    expect(maps.ops.length).toBe(opsBefore);
    expect(maps.view()).toEqual(view);
  });

  test('adopting matches addresses as the maps spell them', () => {
    const maps = new FakeMaps(LARGE);
    new SocketReconciler(maps, { lbMapMax: LARGE }).sync([fe('fd00:198:18::1', 80, ['[fd00:198:18:1::1]:80'])]);
    // A reader that prints addresses in full still means the same frontend.
    for (const s of maps.services.values()) s.addr = 'fd00:198:18:0:0:0:0:1';
    for (const b of maps.backends.values()) b.addr = 'FD00:198:18:1::0001';
    const state = socketState(maps.dumpServices(), maps.dumpBackends());
    expect(planSocketSync(state, [fe('fd00:198:18::1', 80, ['[fd00:198:18:1::1]:80'])], { lbMapMax: LARGE }).writes).toBe(0);
  });

  test('adding a backend writes its slot and the master only; other frontends and backends stay', () => {
    const maps = new FakeMaps(LARGE);
    const rec = new SocketReconciler(maps, { lbMapMax: LARGE });
    const other = fe('198.19.0.2', 80, ['198.18.2.1:80']);
    rec.sync([fe('198.19.0.1', 80, ['198.18.1.2:80', '198.18.1.3:80']), other]);
    const before = maps.view();
    maps.ops.length = 0;
    const r = rec.sync([fe('198.19.0.1', 80, ['198.18.1.1:80', '198.18.1.2:80', '198.18.1.3:80']), other]);
    expect(maps.ops.map((o) => o.op)).toEqual(['updateBackends', 'updateServices', 'updateServices']);
    expect(r.writes).toBe(3);
    const after = maps.view();
    expect(after['198.19.0.2:80/TCP']).toEqual(before['198.19.0.2:80/TCP']);
    // Existing backends keep their ids and slots; the new one takes slot 3.
    expect(after['198.19.0.1:80/TCP'].ids.slice(0, 2)).toEqual(before['198.19.0.1:80/TCP'].ids);
    expect(after['198.19.0.1:80/TCP'].backends[2]).toBe('198.18.1.1:80');
  });

  test('removing a backend: master shrinks before the surplus slot and the backend go', () => {
    const maps = new FakeMaps(LARGE);
    const rec = new SocketReconciler(maps, { lbMapMax: LARGE });
    rec.sync([fe('198.19.0.1', 80, ['198.18.1.1:80', '198.18.1.2:80', '198.18.1.3:80'])]);
    const ids = maps.view()['198.19.0.1:80/TCP'].ids;
    maps.ops.length = 0;
    rec.sync([fe('198.19.0.1', 80, ['198.18.1.1:80', '198.18.1.3:80'])]);
    expect(maps.ops.map((o) => [o.op, o.items])).toEqual([
      ['updateServices', [2]],
      ['updateServices', [0]],
      ['deleteServices', [3]],
      ['deleteBackends', [ids[1]]],
    ]);
    expect(maps.view()['198.19.0.1:80/TCP'].ids).toEqual([ids[0], ids[2]]);
  });

  test('replacing every backend never exposes a missing one', () => {
    const maps = new FakeMaps(LARGE);
    const rec = new SocketReconciler(maps, { lbMapMax: LARGE });
    rec.sync([fe('198.19.0.1', 80, ['198.18.1.1:80', '198.18.1.2:80', '198.18.1.3:80'])]);
    const desired = [fe('198.19.0.1', 80, ['198.18.2.1:80', '198.18.2.2:80'])];
    rec.sync(desired);
    expectProgrammed(maps, desired);
  });

  test('removing a frontend deletes its master before its slots, then its backends', () => {
    const maps = new FakeMaps(LARGE);
    const rec = new SocketReconciler(maps, { lbMapMax: LARGE });
    const keep = fe('198.19.0.2', 80, ['198.18.1.1:80']);
    rec.sync([fe('198.19.0.1', 80, ['198.18.1.1:80', '198.18.1.2:80']), keep]);
    maps.ops.length = 0;
    rec.sync([keep]);
    expect(maps.ops.map((o) => [o.op, o.items.length])).toEqual([
      ['deleteServices', 1],
      ['deleteServices', 2],
      ['deleteBackends', 2],
    ]);
    expect(maps.ops[0].items).toEqual([0]);
    expectProgrammed(maps, [keep]);
  });

  test('one address in two services gets a backend id per service; removing it from one leaves the other', () => {
    const maps = new FakeMaps(LARGE);
    const rec = new SocketReconciler(maps, { lbMapMax: LARGE });
    rec.sync([fe('198.19.0.1', 80, ['198.18.1.1:80']), fe('198.19.0.2', 80, ['198.18.1.1:80'])]);
    const v = maps.view();
    expect(v['198.19.0.1:80/TCP'].ids).not.toEqual(v['198.19.0.2:80/TCP'].ids);
    const otherBackend = maps.backends.get(v['198.19.0.2:80/TCP'].ids[0]);
    maps.ops.length = 0;
    rec.sync([fe('198.19.0.1', 80, []), fe('198.19.0.2', 80, ['198.18.1.1:80'])]);
    expect(maps.ops.map((o) => o.op)).toEqual(['updateServices', 'deleteServices', 'deleteBackends']);
    expect(maps.ops[2].items).toEqual(v['198.19.0.1:80/TCP'].ids);
    expect(maps.backends.get(v['198.19.0.2:80/TCP'].ids[0])).toEqual(otherBackend);
  });

  test('service ids are stable and the smallest free one is reused only after its frontend is gone', () => {
    const maps = new FakeMaps(LARGE);
    const rec = new SocketReconciler(maps, { lbMapMax: LARGE });
    const a = fe('198.19.0.1', 80, []);
    const b = fe('198.19.0.2', 80, []);
    const c = fe('198.19.0.3', 80, []);
    const d = fe('198.19.0.4', 80, []);
    rec.sync([a, b]);
    expect([maps.view()['198.19.0.1:80/TCP'].svcId, maps.view()['198.19.0.2:80/TCP'].svcId]).toEqual([1, 2]);
    rec.sync([b, c]);
    expect(maps.view()['198.19.0.2:80/TCP'].svcId).toBe(2);
    expect(maps.view()['198.19.0.3:80/TCP'].svcId).toBe(3);
    rec.sync([b, c, d]);
    expect(maps.view()['198.19.0.4:80/TCP'].svcId).toBe(1);
  });

  test('affinity change rewrites the master only', () => {
    const maps = new FakeMaps(LARGE);
    const rec = new SocketReconciler(maps, { lbMapMax: LARGE });
    rec.sync([fe('198.19.0.1', 80, ['198.18.1.1:80'])]);
    maps.ops.length = 0;
    rec.sync([fe('198.19.0.1', 80, ['198.18.1.1:80'], { affinityTimeout: 10800 })]);
    expect(maps.ops.map((o) => [o.op, o.items])).toEqual([['updateServices', [0]]]);
    expect(maps.view()['198.19.0.1:80/TCP'].affinity).toBe(10800);
  });

  test('TCP and UDP on one port, IPv4 and IPv6 are distinct frontends', () => {
    const maps = new FakeMaps(LARGE);
    const desired = [
      fe('198.19.0.53', 53, ['198.18.1.1:53'], { proto: 'UDP' }),
      fe('198.19.0.53', 53, ['198.18.1.1:53'], { proto: 'TCP' }),
      fe('fd00:198:18::53', 53, ['[fd00:198:18:1::1]:53'], { proto: 'UDP' }),
    ];
    new SocketReconciler(maps, { lbMapMax: LARGE }).sync(desired);
    expectProgrammed(maps, desired);
  });

  test('a broken state left by a crash is repaired', () => {
    const maps = new FakeMaps(LARGE);
    const desired = [fe('198.19.0.1', 80, ['198.18.1.1:80', '198.18.1.2:80']), fe('198.19.0.2', 80, ['198.18.2.1:80'])];
    new SocketReconciler(maps, { lbMapMax: LARGE }).sync(desired);
    // A master gone, a stray slot beyond count, an orphan backend.
    maps.services.delete('198.19.0.2|80|TCP|0');
    const m = maps.services.get('198.19.0.1|80|TCP|0');
    maps.services.set('198.19.0.1|80|TCP|5', { ...(m as ServiceSlot), slot: 5, backendId: 1 });
    maps.backends.set(99, { id: 99, addr: '198.18.9.9', port: 1, svcId: 7 });
    new SocketReconciler(maps, { lbMapMax: LARGE }).sync(desired);
    expectProgrammed(maps, desired);
  });

  test('hand-broken: a slot read back with a count and a timeout of its own is written again, and only it', () => {
    const maps = new FakeMaps(LARGE);
    const desired = [fe('198.19.0.1', 80, ['198.18.1.1:80', '198.18.1.2:80', '198.18.1.3:80'])];
    new SocketReconciler(maps, { lbMapMax: LARGE }).sync(desired);
    const slot = maps.services.get('198.19.0.1|80|TCP|2') as ServiceSlot;
    Object.assign(slot, { count: 7, affinityTimeout: 30 });
    const rec = new SocketReconciler(maps, { lbMapMax: LARGE });
    maps.ops.length = 0;
    rec.sync(desired);
    expect(maps.ops.map((o) => [o.op, o.items])).toEqual([['updateServices', [2]]]);
    expect(maps.services.get('198.19.0.1|80|TCP|2')).toMatchObject({ count: 0, affinityTimeout: 0 });
    expectProgrammed(maps, desired);
    expectDigestsKept(rec, maps);
    maps.ops.length = 0;
    rec.sync(desired);
    expect(maps.ops).toEqual([]);
  });

  test('hand-broken: two frontends given one service id; the first keeps it, the other gets one of its own', () => {
    const maps = new FakeMaps(LARGE);
    const desired = [fe('198.19.0.1', 80, ['198.18.1.1:80']), fe('198.19.0.2', 80, ['198.18.2.1:80', '198.18.2.2:80'])];
    new SocketReconciler(maps, { lbMapMax: LARGE }).sync(desired);
    const first = maps.view()['198.19.0.1:80/TCP'].svcId;
    for (const e of [...maps.services.values(), ...maps.backends.values()]) e.svcId = first;
    expect(() => maps.checkTidy()).toThrow(`service id ${first} used twice`);
    new SocketReconciler(maps, { lbMapMax: LARGE }).sync(desired);
    expectProgrammed(maps, desired);
    expect(maps.view()['198.19.0.1:80/TCP'].svcId).toBe(first);
  });

  test("hand-broken: a slot that points at another service's backend of the same address is given its own again", () => {
    const maps = new FakeMaps(LARGE);
    const desired = [fe('198.19.0.1', 80, ['198.18.1.1:80']), fe('198.19.0.2', 80, ['198.18.1.1:80'])];
    new SocketReconciler(maps, { lbMapMax: LARGE }).sync(desired);
    const [a, b] = [maps.view()['198.19.0.1:80/TCP'], maps.view()['198.19.0.2:80/TCP']];
    (maps.services.get('198.19.0.1|80|TCP|1') as ServiceSlot).backendId = b.ids[0];
    expect(() => maps.checkTidy()).toThrow(`backend ${b.ids[0]} carries service id ${b.svcId}, used by ${a.svcId}`);
    new SocketReconciler(maps, { lbMapMax: LARGE }).sync(desired);
    expectProgrammed(maps, desired);
  });

  test('after a failed write the next sync reads the maps again and converges', () => {
    const maps = new FakeMaps(LARGE);
    const rec = new SocketReconciler(maps, { lbMapMax: LARGE });
    rec.sync([fe('198.19.0.1', 80, ['198.18.1.1:80'])]);
    const desired = [fe('198.19.0.1', 80, ['198.18.1.2:80', '198.18.1.3:80']), fe('198.19.0.2', 80, ['198.18.2.1:80'])];
    maps.failAfter = 4;
    expect(() => rec.sync(desired)).toThrow('injected failure');
    rec.sync(desired);
    expectProgrammed(maps, desired);
  });

  describe('capacity', () => {
    test('a frontend that does not fit is skipped whole; the others apply', () => {
      const maps = new FakeMaps(8);
      const desired = [
        fe('198.19.0.1', 80, ['198.18.1.1:80', '198.18.1.2:80']),
        fe('198.19.0.2', 80, ['198.18.2.1:80', '198.18.2.2:80']),
        fe('198.19.0.3', 80, ['198.18.3.1:80', '198.18.3.2:80']),
      ];
      const r = new SocketReconciler(maps, { lbMapMax: 8 }).sync(desired);
      expect(r.skipped.map((s) => s.reason)).toEqual(['198.19.0.3:80/TCP (Service default/svc-80): service map full (--bpf-lb-map-max 8 entries)']);
      expectProgrammed(maps, desired.slice(0, 2));
    });

    test('a programmed frontend that cannot grow keeps its previous state', () => {
      const maps = new FakeMaps(5);
      const rec = new SocketReconciler(maps, { lbMapMax: 5 });
      const a = fe('198.19.0.1', 80, ['198.18.1.1:80']);
      const b = fe('198.19.0.2', 80, ['198.18.2.1:80']);
      rec.sync([a, b]);
      const grown = fe('198.19.0.1', 80, ['198.18.1.1:80', '198.18.1.2:80', '198.18.1.3:80', '198.18.1.4:80']);
      const r = rec.sync([grown, fe('198.19.0.2', 80, [])]);
      expect(r.skipped.map((s) => s.frontend)).toEqual([grown]);
      expectProgrammed(maps, [a, fe('198.19.0.2', 80, [])]);
    });

    test('an update is not starved by a newcomer', () => {
      const maps = new FakeMaps(5);
      const rec = new SocketReconciler(maps, { lbMapMax: 5 });
      rec.sync([fe('198.19.0.9', 80, ['198.18.1.1:80'])]);
      const grown = fe('198.19.0.9', 80, ['198.18.1.1:80', '198.18.1.2:80']);
      const newcomer = fe('198.19.0.1', 80, ['198.18.2.1:80', '198.18.2.2:80']);
      const r = rec.sync([newcomer, grown]);
      expect(r.skipped.map((s) => s.frontend)).toEqual([newcomer]);
      expectProgrammed(maps, [grown]);
    });

    test('room freed by removed frontends is used in the same sync', () => {
      const maps = new FakeMaps(4);
      const rec = new SocketReconciler(maps, { lbMapMax: 4 });
      rec.sync([fe('198.19.0.1', 80, ['198.18.1.1:80', '198.18.1.2:80'])]);
      const replacement = [fe('198.19.0.2', 80, ['198.18.2.1:80', '198.18.2.2:80', '198.18.2.3:80'])];
      const r = rec.sync(replacement);
      expect(r.skipped).toEqual([]);
      expectProgrammed(maps, replacement);
    });
  });

  describe('UDP socket destroy targets', () => {
    test('a backend that leaves every UDP frontend is a target', () => {
      const maps = new FakeMaps(LARGE);
      const rec = new SocketReconciler(maps, { lbMapMax: LARGE });
      const udp = (addr: string, backends: string[]) => fe(addr, 53, backends, { proto: 'UDP' });
      rec.sync([udp('198.19.0.1', ['198.18.1.1:53', '198.18.1.2:53']), udp('198.19.0.2', ['198.18.1.2:53']), fe('198.19.0.3', 80, ['198.18.1.3:80'])]);
      const r = rec.sync([udp('198.19.0.1', []), udp('198.19.0.2', ['198.18.1.2:53'])]);
      expect(r.udpTargets).toEqual([{ addr: '198.18.1.1', port: 53 }]);
      expect(rec.sync([]).udpTargets).toEqual([{ addr: '198.18.1.2', port: 53 }]);
    });

    test('a UDP backend that stays, or a TCP backend that goes, is no target', () => {
      const maps = new FakeMaps(LARGE);
      const rec = new SocketReconciler(maps, { lbMapMax: LARGE });
      rec.sync([fe('198.19.0.1', 53, ['198.18.1.1:53'], { proto: 'UDP' }), fe('198.19.0.2', 53, ['198.18.1.1:53'])]);
      expect(rec.sync([fe('198.19.0.1', 53, ['198.18.1.1:53'], { proto: 'UDP' })]).udpTargets).toEqual([]);
    });
  });

  test('random changes keep every lookup valid and end in the desired state', () => {
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const maps = new FakeMaps(LARGE);
    let rec = new SocketReconciler(maps, { lbMapMax: LARGE });
    for (let round = 0; round < 200; round++) {
      const desired: Frontend[] = [];
      for (let i = 0; i < 8; i++) {
        if (rand(3) === 0) continue;
        const backends = new Set<string>();
        for (let j = rand(6); j > 0; j--) backends.add(`198.18.${rand(2)}.${rand(6) + 1}:${80 + rand(2)}`);
        desired.push(fe(`198.19.0.${i + 1}`, 80, [...backends].sort(), { proto: i % 2 ? 'UDP' : 'TCP', affinityTimeout: rand(2) * 60 }));
      }
      // Now and then the agent restarts and adopts what it left.
      if (rand(10) === 0) rec = new SocketReconciler(maps, { lbMapMax: LARGE });
      rec.sync(desired);
      expectProgrammed(maps, desired);
      expectDigestsKept(rec, maps);
    }
  });

  test('syncs that change a few frontends of an unchanged set (the model hands the others over as the same objects) end in the desired state, under capacity pressure too', () => {
    for (const capacity of [LARGE, 14]) {
      let seed = 11;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        return seed % n;
      };
      const backends = () => [...new Set(Array.from({ length: rand(5) }, () => `198.18.0.${rand(6) + 1}:80`))].sort();
      const maps = new FakeMaps(capacity);
      const rec = new SocketReconciler(maps, { lbMapMax: capacity });
      let desired = Array.from({ length: 6 }, (_, i) => fe(`198.19.0.${i + 1}`, 80, backends(), { proto: i % 2 ? 'UDP' : 'TCP' }));
      let skips = 0;
      for (let round = 0; round < 300; round++) {
        desired = desired.map((f) => (rand(4) === 0 ? fe(f.addr, f.port, backends(), { proto: f.proto, affinityTimeout: rand(2) * 60 }) : f));
        const r = rec.sync(desired);
        maps.checkTidy();
        expectDigestsKept(rec, maps);
        skips += r.skipped.length;
        const skipped = new Set(r.skipped.map((x) => x.frontend));
        const view = maps.view();
        for (const f of desired) {
          if (skipped.has(f)) continue;
          const got = view[`${f.addr}:${f.port}/${f.proto}`];
          expect({ affinity: got.affinity, backends: [...got.backends].sort() }).toEqual({ affinity: f.affinityTimeout, backends: f.backends.map((b) => `${b.addr}:${b.port}`) });
        }
      }
      // The small maps did make frontends wait, and each got in once there was room.
      expect(skips > 0).toBe(capacity < LARGE);
    }
  });

  test('random changes under capacity pressure never overflow a map nor half-write a frontend', () => {
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const maps = new FakeMaps(12);
    const rec = new SocketReconciler(maps, { lbMapMax: 12 });
    for (let round = 0; round < 200; round++) {
      const desired: Frontend[] = [];
      for (let i = 0; i < 6; i++) {
        if (rand(3) === 0) continue;
        const backends = new Set<string>();
        for (let j = rand(5); j > 0; j--) backends.add(`198.18.0.${rand(6) + 1}:80`);
        desired.push(fe(`198.19.0.${i + 1}`, 80, [...backends].sort()));
      }
      const r = rec.sync(desired);
      maps.checkTidy();
      expectDigestsKept(rec, maps);
      const skipped = new Set(r.skipped.map((s) => s.frontend));
      const view = maps.view();
      for (const f of desired) {
        if (skipped.has(f)) continue;
        expect(view[`${f.addr}:${f.port}/${f.proto}`].backends.sort()).toEqual(f.backends.map((b) => `${b.addr}:${b.port}`));
      }
    }
  });
});
