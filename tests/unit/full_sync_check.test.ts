// A full sync's check that the maps still hold what the agent wrote, when it
// runs on another thread (reconciler.ts, map_check.ts): a drift found asks for a sync that
// reads the maps back; a walk that may have seen the agent's own writes
// proves nothing either way; and checks that keep seeing writes give way to
// one on the event loop.
import { INCONCLUSIVE_CHECKS_MAX } from '../../lib/datapath/map_check';
import { SocketReconciler } from '../../lib/datapath/socket/reconciler';
import { Frontend } from '../../lib/model/frontend';
import { FakeMaps } from './fake_maps';

const fe = (addr: string, backends: string[]): Frontend => ({
  kind: 'ClusterIP',
  addr,
  port: 80,
  proto: 'TCP',
  serviceName: `default/${addr}`,
  portName: '',
  affinityTimeout: 0,
  backends: backends.map((b) => ({ addr: b, port: 8080 })),
  externalBackends: [],
  sourceRanges: [],
});

const flushPromises = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

function setup() {
  const maps = new FakeMaps(100);
  const rec = new SocketReconciler(maps, { lbMapMax: 100 });
  const desired = [fe('198.19.0.1', ['198.18.1.1', '198.18.1.2']), fe('198.19.0.2', ['198.18.1.3'])];
  rec.sync(desired);
  let drifts = 0;
  const drifted = () => drifts++;
  // The first full sync after the maps were read: nothing to check yet.
  rec.repair(desired, drifted);
  return { maps, rec, desired, drifted, drifts: () => drifts };
}

/** A slot of 198.19.0.1 pointed at its other backend, by hand. */
function misdirect(maps: FakeMaps): void {
  const [one, two] = [1, 2].map((slot) => maps.services.get(`198.19.0.1|80|TCP|${slot}`));
  if (!one || !two) throw new Error('198.19.0.1 has no slots 1 and 2');
  maps.services.set(`198.19.0.1|80|TCP|1`, { ...one, backendId: two.backendId });
}

describe('full sync check on another thread', () => {
  test('a full sync right after the maps were read back walks nothing: at start, and after a drift', async () => {
    const maps = new FakeMaps(100);
    const rec = new SocketReconciler(maps, { lbMapMax: 100 });
    const walks = jest.spyOn(maps, 'mapDigestsLater');
    const desired = [fe('198.19.0.1', ['198.18.1.1', '198.18.1.2'])];
    rec.adopt();
    rec.sync(desired);
    rec.repair(desired, () => undefined);
    expect(walks).not.toHaveBeenCalled();
    misdirect(maps);
    let drifts = 0;
    rec.repair(desired, () => drifts++);
    await flushPromises();
    expect({ walks: walks.mock.calls.length, drifts }).toEqual({ walks: 1, drifts: 1 });
    rec.sync(desired);
    rec.repair(desired, () => drifts++);
    expect(walks).toHaveBeenCalledTimes(1);
    rec.repair(desired, () => drifts++);
    expect(walks).toHaveBeenCalledTimes(2);
  });

  test('maps that hold what was written: nothing is read back and no sync is asked for', async () => {
    const { rec, desired, drifted, drifts } = setup();
    const reads = rec.readBacks;
    expect(rec.repair(desired, drifted).writes).toBe(0);
    await flushPromises();
    expect({ drifts: drifts(), reads: rec.readBacks - reads }).toEqual({ drifts: 0, reads: 0 });
  });

  test('maps changed by hand: a sync is asked for, and it reads them back and puts them right', async () => {
    const { maps, rec, desired, drifted, drifts } = setup();
    misdirect(maps);
    const reads = rec.readBacks;
    // The sync runs first and trusts its state; the walk answers after it.
    expect(rec.repair(desired, drifted).writes).toBe(0);
    expect(drifts()).toBe(0);
    await flushPromises();
    expect(drifts()).toBe(1);
    expect(rec.programmed).toBeUndefined();
    expect(rec.sync(desired).writes).toBeGreaterThan(0);
    expect(rec.readBacks - reads).toBe(1);
    expect(maps.view()['198.19.0.1:80/TCP'].backends.sort()).toEqual(['198.18.1.1:8080', '198.18.1.2:8080']);
  });

  test('a walk that may have seen the agent write proves nothing; checks that keep seeing writes give way to one on the event loop', async () => {
    const { maps, rec, desired, drifted, drifts } = setup();
    misdirect(maps);
    let next = desired;
    for (let i = 0; i < INCONCLUSIVE_CHECKS_MAX; i++) {
      rec.repair(next, drifted);
      // A change synced while the walk runs.
      next = [next[0], fe('198.19.0.2', [`198.18.2.${i + 1}`])];
      rec.sync(next);
      await flushPromises();
      expect(drifts()).toBe(0);
    }
    const reads = rec.readBacks;
    rec.repair(next, drifted);
    expect(rec.readBacks - reads).toBe(1);
    expect(maps.view()['198.19.0.1:80/TCP'].backends.sort()).toEqual(['198.18.1.1:8080', '198.18.1.2:8080']);
    // Checked, and found right: the next full sync checks on another thread again.
    misdirect(maps);
    rec.repair(next, drifted);
    await flushPromises();
    expect(drifts()).toBe(1);
  });

  test('a walk that fails leaves the next sync to read the maps', async () => {
    const { maps, rec, desired, drifted, drifts } = setup();
    jest.spyOn(maps, 'mapDigestsLater').mockRejectedValueOnce(new Error('reading map: Bad file descriptor'));
    rec.repair(desired, drifted);
    await flushPromises();
    expect(drifts()).toBe(1);
    expect(rec.programmed).toBeUndefined();
  });
});
