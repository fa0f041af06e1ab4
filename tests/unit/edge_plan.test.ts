import { EdgeSettings } from '../../lib/datapath/edge/plan';
import { EdgeReconciler } from '../../lib/datapath/edge/reconciler';
import { MaglevTable } from '../../lib/datapath/edge/maglev';
import { ExternalFrontend, LocatedBackend } from '../../lib/model/frontend';
import { FakeEdgeMaps } from './fake_edge_maps';

const M = 7;

/** A stand-in for the addon's Maglev: sorted names, slots round-robin. */
const maglev = (names: string[]): MaglevTable => {
  const backends = [...names].sort();
  return { backends, table: Uint32Array.from({ length: M }, (_, i) => i % backends.length), digest: '' };
};

const settings = (max = 100, more: Partial<EdgeSettings> = {}): EdgeSettings => ({
  limits: { frontendMax: max, backendMax: max, sourceRangeMax: max },
  noBackend: 'reject',
  maglev,
  ...more,
});

const be = (text: string): LocatedBackend => {
  const [addrPort, nodeAddr] = text.split('@');
  const i = addrPort.lastIndexOf(':');
  const b: LocatedBackend = { addr: addrPort.slice(0, i), port: Number(addrPort.slice(i + 1)) };
  return nodeAddr ? { ...b, nodeAddr } : b;
};

/** Frontends of one edge service (a NodePort service port): its node port on each address, and more. */
function svc(name: string, addrs: string[], backends: string[], more: Partial<ExternalFrontend> = {}): ExternalFrontend[] {
  const externalBackends = backends.map(be);
  return addrs.map((addr) => ({
    kind: 'NodePort',
    addr,
    port: 30080,
    proto: 'TCP',
    serviceName: `default/${name}`,
    portName: '',
    affinityTimeout: 0,
    backends: [],
    externalBackends,
    sourceRanges: [],
    forwardingMode: 'snat',
    lbAlgorithm: 'maglev',
    dropWithoutBackends: false,
    edgeService: `default/${name}||IPv4`,
    ...more,
  }));
}

const ops = (maps: FakeEdgeMaps) => maps.ops.map((o) => [o.op, o.items]);

describe('edge plan', () => {
  test('first sync: backends, table, ranges, frontends; one service id, table and backend set per edge service', () => {
    const maps = new FakeEdgeMaps(M);
    const desired = [
      ...svc('web', ['198.18.0.1', '198.18.0.11'], ['198.18.1.1:8080', '198.18.1.2:8080@198.18.0.2']),
      ...svc('lb', ['198.18.200.1'], ['198.18.1.3:80'], { kind: 'LoadBalancer', port: 80, sourceRanges: ['198.18.64.0/18'], forwardingMode: 'dsr', lbAlgorithm: 'random', affinityTimeout: 60 }),
    ];
    const r = new EdgeReconciler(maps, settings()).sync(desired);
    expect(ops(maps)).toEqual([
      ['updateBackends', [1, 2, 3]],
      ['setMaglevTable', [1]],
      ['setMaglevTable', [2]],
      ['updateSourceRanges', ['198.18.64.0/18']],
      ['updateFrontends', ['198.18.0.1', '198.18.0.11', '198.18.200.1']],
    ]);
    expect(r).toEqual({ services: 2, frontends: 3, backends: 3, writes: 9, skipped: [] });
    expect(maps.view()).toEqual({
      '198.18.0.1:30080/TCP': { svcId: 1, count: 2, flags: 'snat maglev reject', backends: ['198.18.1.1:8080', '198.18.1.2:8080@198.18.0.2'] },
      '198.18.0.11:30080/TCP': { svcId: 1, count: 2, flags: 'snat maglev reject', backends: ['198.18.1.1:8080', '198.18.1.2:8080@198.18.0.2'] },
      '198.18.200.1:80/TCP': { svcId: 2, count: 1, flags: 'dsr random reject ranges affinity 60', backends: ['198.18.1.3:80'] },
    });
    // The table is the Maglev table of the sorted names, as ids.
    expect(maps.tables.get(1)).toEqual([1, 2, 1, 2, 1, 2, 1]);
  });

  test('an unchanged sync writes nothing, whether the same objects or equal ones', () => {
    const maps = new FakeEdgeMaps(M);
    const rec = new EdgeReconciler(maps, settings());
    const desired = svc('web', ['198.18.0.1'], ['198.18.1.1:8080']);
    rec.sync(desired);
    const before = maps.ops.length;
    expect(rec.sync(desired).writes).toBe(0);
    expect(rec.sync(svc('web', ['198.18.0.1'], ['198.18.1.1:8080'])).writes).toBe(0);
    expect(maps.ops.length).toBe(before);
  });

  test('a backend added, then removed: a new table before the count, deletions last; ids stay', () => {
    const maps = new FakeEdgeMaps(M);
    const rec = new EdgeReconciler(maps, settings());
    rec.sync(svc('web', ['198.18.0.1'], ['198.18.1.1:8080']));
    maps.ops.length = 0;
    rec.sync(svc('web', ['198.18.0.1'], ['198.18.1.1:8080', '198.18.1.2:8080']));
    expect(ops(maps)).toEqual([
      ['updateBackends', [2]],
      ['setMaglevTable', [1]],
      ['updateFrontends', ['198.18.0.1']],
    ]);
    maps.ops.length = 0;
    rec.sync(svc('web', ['198.18.0.1'], ['198.18.1.2:8080']));
    expect(ops(maps)).toEqual([
      ['setMaglevTable', [1]],
      ['updateFrontends', ['198.18.0.1']],
      ['deleteBackends', [1]],
    ]);
    expect(maps.view()['198.18.0.1:30080/TCP']).toEqual({ svcId: 1, count: 1, flags: 'snat maglev reject', backends: ['198.18.1.2:8080'] });
  });

  test("a backend's node moving rewrites the backend alone", () => {
    const maps = new FakeEdgeMaps(M);
    const rec = new EdgeReconciler(maps, settings());
    rec.sync(svc('web', ['198.18.0.1'], ['198.18.1.1:8080@198.18.0.2']));
    maps.ops.length = 0;
    rec.sync(svc('web', ['198.18.0.1'], ['198.18.1.1:8080@198.18.0.3']));
    expect(ops(maps)).toEqual([['updateBackends', [1]]]);
    expect(maps.backends.get(1)).toEqual({ id: 1, addr: '198.18.1.1', port: 8080, svcId: 1, nodeAddr: '198.18.0.3' });
  });

  test('no backends left: the frontend counts 0 (reject or drop), then its table goes', () => {
    const maps = new FakeEdgeMaps(M);
    const rec = new EdgeReconciler(maps, settings(100, { noBackend: 'drop' }));
    rec.sync(svc('web', ['198.18.0.1'], ['198.18.1.1:8080']));
    maps.ops.length = 0;
    rec.sync(svc('web', ['198.18.0.1'], []));
    expect(ops(maps)).toEqual([
      ['updateFrontends', ['198.18.0.1']],
      ['deleteMaglevTables', [1]],
      ['deleteBackends', [1]],
    ]);
    expect(maps.view()['198.18.0.1:30080/TCP']).toEqual({ svcId: 1, count: 0, flags: 'snat maglev drop', backends: [] });
  });

  test('externalTrafficPolicy Local without a local endpoint drops, whatever --service-no-backend-response says', () => {
    const maps = new FakeEdgeMaps(M);
    new EdgeReconciler(maps, settings(100, { noBackend: 'reject' })).sync([
      ...svc('local', ['198.18.0.1'], [], { dropWithoutBackends: true }),
      ...svc('none', ['198.18.0.2'], []),
    ]);
    expect(maps.view()['198.18.0.1:30080/TCP']).toMatchObject({ count: 0, flags: 'snat maglev drop' });
    expect(maps.view()['198.18.0.2:30080/TCP']).toMatchObject({ count: 0, flags: 'snat maglev reject' });
  });

  test('source ranges: added before the frontend checks them, removed after it stops', () => {
    const maps = new FakeEdgeMaps(M);
    const rec = new EdgeReconciler(maps, settings());
    const lb = (ranges: string[]) => svc('lb', ['198.18.200.1'], ['198.18.1.1:80'], { kind: 'LoadBalancer', sourceRanges: ranges });
    rec.sync(lb([]));
    maps.ops.length = 0;
    rec.sync(lb(['198.18.64.0/18', '198.18.0.0/18']));
    expect(ops(maps)).toEqual([
      ['updateSourceRanges', ['198.18.64.0/18', '198.18.0.0/18']],
      ['updateFrontends', ['198.18.200.1']],
    ]);
    maps.ops.length = 0;
    rec.sync(lb(['198.18.0.0/18']));
    expect(ops(maps)).toEqual([['deleteSourceRanges', ['198.18.64.0/18']]]);
    maps.ops.length = 0;
    rec.sync(lb([]));
    expect(ops(maps)).toEqual([
      ['updateFrontends', ['198.18.200.1']],
      ['deleteSourceRanges', ['198.18.0.0/18']],
    ]);
  });

  test('a removed service goes entirely, its ids reused only by the next sync', () => {
    const maps = new FakeEdgeMaps(M);
    const rec = new EdgeReconciler(maps, settings());
    const lb = svc('lb', ['198.18.200.1'], ['198.18.1.1:80'], { kind: 'LoadBalancer', sourceRanges: ['198.18.64.0/18'] });
    rec.sync([...lb, ...svc('web', ['198.18.0.1'], ['198.18.1.2:8080'])]);
    maps.ops.length = 0;
    rec.sync([...svc('api', ['198.18.0.2'], ['198.18.1.3:8080']), ...svc('web', ['198.18.0.1'], ['198.18.1.2:8080'])]);
    expect(ops(maps)).toEqual([
      ['updateBackends', [3]],
      ['setMaglevTable', [3]],
      ['updateFrontends', ['198.18.0.2']],
      ['deleteFrontends', ['198.18.200.1']],
      ['deleteSourceRanges', ['198.18.64.0/18']],
      ['deleteMaglevTables', [1]],
      ['deleteBackends', [1]],
    ]);
    maps.ops.length = 0;
    rec.sync([...svc('api', ['198.18.0.2'], ['198.18.1.3:8080']), ...svc('web', ['198.18.0.1'], ['198.18.1.2:8080']), ...svc('new', ['198.18.0.3'], ['198.18.1.4:80'])]);
    expect(ops(maps)).toEqual([
      ['updateBackends', [1]],
      ['setMaglevTable', [1]],
      ['updateFrontends', ['198.18.0.3']],
    ]);
  });

  test('a frontend taken over by another service is rewritten, never deleted', () => {
    const maps = new FakeEdgeMaps(M);
    const rec = new EdgeReconciler(maps, settings());
    rec.sync([...svc('a', ['198.18.0.1', '198.18.0.2'], ['198.18.1.1:80']), ...svc('b', ['198.18.0.3'], ['198.18.1.2:80'])]);
    maps.ops.length = 0;
    rec.sync([...svc('a', ['198.18.0.1'], ['198.18.1.1:80']), ...svc('b', ['198.18.0.2', '198.18.0.3'], ['198.18.1.2:80'])]);
    expect(ops(maps)).toEqual([['updateFrontends', ['198.18.0.2']]]);
    expect(maps.view()['198.18.0.2:30080/TCP'].svcId).toBe(2);
  });

  test('a restarted agent adopts the pinned state: no writes, same ids', () => {
    const maps = new FakeEdgeMaps(M);
    const desired = [
      ...svc('web', ['198.18.0.1', '198.18.0.11'], ['198.18.1.1:8080', '198.18.1.2:8080@198.18.0.2']),
      ...svc('lb', ['198.18.200.1'], ['198.18.1.3:80'], { kind: 'LoadBalancer', sourceRanges: ['198.18.64.0/18'] }),
      ...svc('empty', ['198.18.0.1'], [], { port: 30081 }),
    ];
    new EdgeReconciler(maps, settings()).sync(desired);
    const view = maps.view();
    const before = maps.ops.length;
    const restarted = new EdgeReconciler(maps, settings());
    expect(restarted.sync(desired)).toEqual({ services: 3, frontends: 4, backends: 3, writes: 0, skipped: [] });
    expect(maps.ops.length).toBe(before);
    expect(maps.view()).toEqual(view);
  });

  test('adopting after a crash between backends and frontends builds the table again', () => {
    const maps = new FakeEdgeMaps(M);
    new EdgeReconciler(maps, settings()).sync(svc('web', ['198.18.0.1'], ['198.18.1.1:8080']));
    // The previous agent wrote a new backend, then stopped.
    maps.updateBackends([{ id: 2, addr: '198.18.1.2', port: 8080, svcId: 1 }]);
    maps.ops.length = 0;
    new EdgeReconciler(maps, settings()).sync(svc('web', ['198.18.0.1'], ['198.18.1.1:8080', '198.18.1.2:8080']));
    expect(ops(maps)).toEqual([
      ['setMaglevTable', [1]],
      ['updateFrontends', ['198.18.0.1']],
    ]);
    expect(maps.view()['198.18.0.1:30080/TCP'].backends).toEqual(['198.18.1.1:8080', '198.18.1.2:8080']);
  });

  test('a full sync repairs what was changed behind its back under the same ids, and deletes strays', () => {
    const maps = new FakeEdgeMaps(M);
    const rec = new EdgeReconciler(maps, settings());
    const desired = svc('web', ['198.18.0.1'], ['198.18.1.1:8080']);
    rec.sync(desired);
    maps.frontends.clear();
    maps.backends.set(9, { id: 9, addr: '198.18.9.9', port: 1, svcId: 9 });
    maps.ops.length = 0;
    expect(rec.sync(desired).writes).toBe(0);
    rec.repair(desired);
    // Without frontends to vouch for it, the table is built again (the same table).
    expect(ops(maps)).toEqual([
      ['setMaglevTable', [1]],
      ['updateFrontends', ['198.18.0.1']],
      ['deleteBackends', [9]],
    ]);
  });

  test('hand-broken: frontends of two services given one service id; the first keeps it, the other gets one of its own', () => {
    const maps = new FakeEdgeMaps(M);
    const desired = [...svc('a', ['198.18.0.1'], ['198.18.1.1:80']), ...svc('b', ['198.18.0.2'], ['198.18.1.2:80', '198.18.1.3:80'])];
    new EdgeReconciler(maps, settings()).sync(desired);
    const first = maps.view()['198.18.0.1:30080/TCP'].svcId;
    for (const f of maps.frontends.values()) f.svcId = first;
    new EdgeReconciler(maps, settings()).sync(desired);
    const v = maps.view();
    expect(v['198.18.0.1:30080/TCP']).toMatchObject({ svcId: first, count: 1, backends: ['198.18.1.1:80'] });
    expect(v['198.18.0.2:30080/TCP']).toMatchObject({ count: 2, backends: ['198.18.1.2:80', '198.18.1.3:80'] });
    expect(v['198.18.0.2:30080/TCP'].svcId).not.toBe(first);
  });

  test('capacity: a service that does not fit is skipped with the reason, and fits once others are gone', () => {
    const maps = new FakeEdgeMaps(M);
    const rec = new EdgeReconciler(maps, settings(2));
    const r = rec.sync([...svc('a', ['198.18.0.1'], ['198.18.1.1:80', '198.18.1.2:80']), ...svc('b', ['198.18.0.2'], ['198.18.1.3:80'])]);
    expect(r.skipped.map((s) => s.reason)).toEqual(['198.18.0.2:30080/TCP (Service default/b): edge backend map full (--bpf-lb-map-max 2 entries)']);
    expect(Object.keys(maps.view())).toEqual(['198.18.0.1:30080/TCP']);
    const again = rec.sync(svc('b', ['198.18.0.2'], ['198.18.1.3:80']));
    expect(again.skipped).toEqual([]);
    expect(Object.keys(maps.view())).toEqual(['198.18.0.2:30080/TCP']);
  });

  test.each<[string, Partial<EdgeSettings['limits']>, (n: number) => ExternalFrontend[], string]>([
    // Each limit alone, the others roomy: n services fill it exactly, the next one is refused.
    ['frontends', { frontendMax: 4 }, (n) => svc(`s${n}`, [`198.18.0.${n}`, `198.18.3.${n}`], [`198.18.1.${n}:80`]), 'edge frontend map full (--bpf-lb-map-max 4 entries)'],
    ['service ids', { frontendMax: 2 }, (n) => svc(`s${n}`, [`198.18.0.${n}`], [`198.18.1.${n}:80`]), 'no free service id (--bpf-lb-map-max 2)'],
    ['backends', { backendMax: 4 }, (n) => svc(`s${n}`, [`198.18.0.${n}`], [`198.18.1.${n}:80`, `198.18.2.${n}:80`]), 'edge backend map full (--bpf-lb-map-max 4 entries)'],
    ['source ranges', { sourceRangeMax: 2 }, (n) => svc(`s${n}`, [`198.18.0.${n}`], [`198.18.1.${n}:80`], { sourceRanges: [`198.18.${64 + n}.0/24`] }), 'source range map full (--bpf-lb-map-max 2 entries)'],
  ])('capacity to the last entry: %s', (_name, limits, service, full) => {
    const maps = new FakeEdgeMaps(M);
    const roomy = settings(100);
    const rec = new EdgeReconciler(maps, { ...roomy, limits: { ...roomy.limits, ...limits } });
    const fitting = [1, 2].flatMap(service);
    expect(rec.sync(fitting).skipped).toEqual([]);
    const r = rec.sync([...fitting, ...service(3)]);
    expect(r.skipped.map((s) => s.reason)).toEqual(service(3).map((f) => `${f.addr}:30080/TCP (Service default/s3): ${full}`));
    expect(Object.keys(maps.view()).length).toBe(fitting.length);
  });

  test('a frontend holds 65535 backends, not one more', () => {
    const backends = (n: number) => Array.from({ length: n }, (_, i) => `198.18.${128 + (i >> 16)}.${(i >> 8) & 255}:${1 + (i & 255)}`);
    const maps = new FakeEdgeMaps(M);
    const rec = new EdgeReconciler(maps, settings(70_000));
    expect(rec.sync(svc('big', ['198.18.0.1'], backends(65535))).skipped).toEqual([]);
    expect(maps.backends.size).toBe(65535);
    const r = rec.sync(svc('big', ['198.18.0.1'], backends(65536)));
    expect(r.skipped.map((s) => s.reason)).toEqual(['198.18.0.1:30080/TCP (Service default/big): 65536 backends, more than the 65535 a frontend can hold']);
  });

  test("one address in both views (the edge's and the pods'): two entries, two services; each view goes on its own", () => {
    const maps = new FakeEdgeMaps(M);
    const rec = new EdgeReconciler(maps, settings());
    const edge = svc('web', ['198.18.0.1'], ['198.18.1.1:8080']);
    const pod = svc('web', ['198.18.0.1'], ['198.18.1.1:8080', '198.18.2.1:8080'], { scope: 'pod', edgeService: 'default/web||IPv4|pod' });
    rec.sync([...edge, ...pod]);
    const v = maps.view();
    expect(Object.keys(v).sort()).toEqual(['198.18.0.1:30080/TCP', '198.18.0.1:30080/TCP pod']);
    expect(v['198.18.0.1:30080/TCP pod'].backends).toEqual(['198.18.1.1:8080', '198.18.2.1:8080']);
    expect(v['198.18.0.1:30080/TCP'].svcId).not.toBe(v['198.18.0.1:30080/TCP pod'].svcId);
    // Read back from the maps, the next agent finds both views where they were.
    const adopted = new EdgeReconciler(maps, settings());
    maps.ops.length = 0;
    adopted.sync([...edge, ...pod]);
    expect(maps.ops.filter((o) => o.items.length > 0)).toEqual([]);
    // The pods' view alone goes: only its entry is deleted.
    maps.ops.length = 0;
    adopted.sync(edge);
    expect(Object.keys(maps.view())).toEqual(['198.18.0.1:30080/TCP']);
    expect(maps.ops.find((o) => o.op === 'deleteFrontends')?.items).toEqual(['198.18.0.1']);
  });
});
