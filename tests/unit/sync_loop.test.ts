import { rangesDigest } from '../../lib/datapath/socket/map_digest';
import { SocketReconciler } from '../../lib/datapath/socket/reconciler';
import { SocketLb } from '../../lib/datapath/socket/socket_lb';
import { ProxyMetrics } from '../../lib/metrics/proxy_metrics';
import { EndpointSlice, objectName, Service } from '../../lib/model/objects';
import { CapacityReport } from '../../lib/sync/capacity';
import { LAST_CHANGE_TRIGGER_TIME, ProxyState } from '../../lib/sync/proxy_state';
import { SyncLoop } from '../../lib/sync/sync_loop';
import { FakeMaps } from './fake_maps';
import { MemoryLogger } from './logger';
import { ALL_NODE_ADDRESSES, ep, node, service, slice } from './objects';

interface Objects {
  services: Service[];
  endpointSlices: EndpointSlice[];
}

const objects = (backends: string[], proto: 'TCP' | 'UDP' = 'UDP'): Objects => ({
  services: [service('dns', { clusterIP: '198.19.0.53', ports: [{ port: 53, protocol: proto }] })],
  endpointSlices: [slice('dns-1', 'dns', 'IPv4', backends.map((b) => ep(b)), [{ port: 53, protocol: proto }])],
});

/** Hands the objects to the state as a source's events would. */
function put(state: ProxyState, o: Objects): void {
  for (const svc of o.services) state.service(objectName(svc.metadata), svc);
  for (const slice of o.endpointSlices) state.endpointSlice(objectName(slice.metadata), slice);
}

const SYNC_PERIOD_MS = 30_000;

/** Lets promises settle: the full sync's check answers in one (FakeMaps.mapDigestsLater). */
const flushPromises = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

function setup(opts: { capacity?: number; minSyncPeriodMs?: number } = {}) {
  const capacity = opts.capacity ?? 100;
  const maps = new FakeMaps(capacity);
  const log = new MemoryLogger();
  const metrics = new ProxyMetrics();
  const destroyed: { addr: string; port: number }[][] = [];
  let ranges: string[] = [];
  const dp = {
    replaceBypass: () => undefined,
    replaceServiceRanges: (c: string[]) => void (ranges = [...c]),
    serviceRangesDigestLater: async () => ({ ranges: rangesDigest(ranges) }),
    destroyUdpSockets: (targets: { addr: string; port: number }[], netns: string[]) => {
      expect(netns.length).toBeGreaterThan(0);
      destroyed.push(targets);
      return 1;
    },
  };
  const state: ProxyState = new ProxyState(node(), ALL_NODE_ADDRESSES, metrics, () => loop.changed());
  const timing = { minSyncPeriodMs: opts.minSyncPeriodMs ?? 0, syncPeriodMs: SYNC_PERIOD_MS };
  const socket = new SocketLb({ dp, reconciler: new SocketReconciler(maps, { lbMapMax: capacity }), capacity: new CapacityReport({ log }), resync: () => loop.mapsChanged(), log, ownsServiceCidrs: true });
  const loop: SyncLoop = new SyncLoop([socket], state, metrics, log, 'test', timing);
  return { maps, log, metrics, destroyed, state, loop };
}

const infoLines = (log: MemoryLogger) => log.lines.filter((l) => l.startsWith('info ')).map((l) => l.replace(/in [\d.]+ms/, 'in Xms'));

describe('sync loop', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('programs nothing before start; logs one line per sync and "kpr: ready" once, after the first', () => {
    const { log, loop, state, maps } = setup();
    put(state, objects(['198.18.1.1', '198.18.1.2']));
    jest.advanceTimersByTime(1000);
    expect(maps.services.size).toBe(0);
    loop.start();
    put(state, objects(['198.18.1.1']));
    jest.advanceTimersByTime(0);
    expect(infoLines(log)).toEqual([
      'info sync: 1 frontends, 2 backends, 5 writes in Xms, maps re-read',
      'info kpr: ready (test)',
      'info sync: 1 frontends, 1 backends, 3 writes in Xms',
      'info udp: destroyed 1 connected sockets to removed backends 198.18.1.2:53 in Xms',
    ]);
    loop.stop();
  });

  test('a change with no effect on the objects causes no sync', () => {
    const { log, loop, state } = setup();
    put(state, objects(['198.18.1.1']));
    loop.start();
    const lines = log.lines.length;
    put(state, objects(['198.18.1.1']));
    jest.advanceTimersByTime(1000);
    expect(log.lines.slice(lines)).toEqual([]);
    loop.stop();
  });

  test('with minSyncPeriod, a burst of changes is one sync, no sooner than minSyncPeriod after the last', () => {
    const { log, loop, state, maps } = setup({ minSyncPeriodMs: 1000 });
    put(state, objects(['198.18.1.1']));
    loop.start();
    for (const b of ['198.18.1.2', '198.18.1.3', '198.18.1.4']) put(state, objects([b]));
    jest.advanceTimersByTime(999);
    expect(maps.view()['198.19.0.53:53/UDP'].backends).toEqual(['198.18.1.1:53']);
    jest.advanceTimersByTime(1);
    expect(maps.view()['198.19.0.53:53/UDP'].backends).toEqual(['198.18.1.4:53']);
    expect(log.matching(/info sync:/)).toHaveLength(2);
    loop.stop();
  });

  test('the periodic full sync finds a map entry deleted by hand, and the sync it asks for puts it back', async () => {
    const { loop, state, maps, log } = setup();
    put(state, objects(['198.18.1.1', '198.18.1.2']));
    loop.start();
    // The service entry deleted behind the agent's back: lookups miss the service.
    maps.services.delete('198.19.0.53|53|UDP|0');
    const dumps = jest.spyOn(maps, 'dumpServices');
    jest.advanceTimersByTime(SYNC_PERIOD_MS);
    expect(maps.view()).toEqual({});
    // The check's walk answers later (another thread in the addon), then the sync it asked for runs.
    await flushPromises();
    expect(log.matching(/^warn socket LB: kpr_services or kpr_backends no longer hold what the agent wrote; reading them back$/)).toHaveLength(1);
    jest.advanceTimersByTime(0);
    maps.checkTidy();
    expect(maps.view()['198.19.0.53:53/UDP'].backends.sort()).toEqual(['198.18.1.1:53', '198.18.1.2:53']);
    expect(log.matching(/info sync: 1 frontends, 2 backends, 1 writes in [\d.]+ms, maps re-read/)).toHaveLength(1);
    expect(dumps).toHaveBeenCalledTimes(1);
    loop.stop();
  });

  test('a periodic sync that finds everything in place logs at debug only, and copies nothing out of the maps', async () => {
    const { loop, state, log, maps } = setup();
    put(state, objects(['198.18.1.1']));
    loop.start();
    const dumps = jest.spyOn(maps, 'dumpServices');
    jest.advanceTimersByTime(SYNC_PERIOD_MS);
    await flushPromises();
    jest.advanceTimersByTime(0);
    expect(log.matching(/^debug sync: 1 frontends, 1 backends, 0 writes in [\d.]+ms, maps checked$/)).toHaveLength(1);
    expect(log.matching(/^warn /)).toEqual([]);
    expect(dumps).not.toHaveBeenCalled();
    loop.stop();
  });

  test('a failed sync is retried after 1s; ready waits for success, and is said once', () => {
    const { maps, log, loop, state } = setup();
    maps.failAfter = 1;
    put(state, objects(['198.18.1.1']));
    loop.start();
    expect(log.matching(/error sync failed: injected failure; retrying in 1000ms/)).toHaveLength(1);
    jest.advanceTimersByTime(999);
    expect(log.matching(/kpr: ready/)).toHaveLength(0);
    jest.advanceTimersByTime(1);
    expect(log.matching(/kpr: ready/)).toHaveLength(1);
    expect(maps.view()['198.19.0.53:53/UDP'].backends).toEqual(['198.18.1.1:53']);
    put(state, objects(['198.18.1.2']));
    jest.advanceTimersByTime(SYNC_PERIOD_MS);
    expect(log.matching(/kpr: ready/)).toHaveLength(1);
    loop.stop();
  });

  test('a change after a failed sync is synced at once, from the latest objects', () => {
    const { maps, log, loop, state } = setup();
    maps.failAfter = 1;
    put(state, objects(['198.18.1.1']));
    loop.start();
    put(state, objects(['198.18.1.2']));
    jest.advanceTimersByTime(0);
    expect(log.matching(/kpr: ready/)).toHaveLength(1);
    expect(maps.view()['198.19.0.53:53/UDP'].backends).toEqual(['198.18.1.2:53']);
    loop.stop();
  });

  test('a frontend claimed by two services is reported once, not on every sync', () => {
    const { log, loop, state } = setup();
    put(state, {
      services: [service('a', { clusterIP: '198.19.0.53', ports: [{ port: 53 }] }), service('b', { clusterIP: '198.19.0.53', ports: [{ port: 53 }] })],
      endpointSlices: [],
    });
    loop.start();
    jest.advanceTimersByTime(SYNC_PERIOD_MS * 2);
    expect(log.matching(/error Service default\/b: .* is already served by Service default\/a/)).toHaveLength(1);
    loop.stop();
  });

  test('a frontend that does not fit is logged once, retried at every sync, and programmed once it fits', () => {
    const { log, loop, state, maps } = setup({ capacity: 2 });
    put(state, objects(['198.18.1.1', '198.18.1.2']));
    loop.start();
    jest.advanceTimersByTime(SYNC_PERIOD_MS * 2);
    expect(log.matching(/^error capacity: 198\.19\.0\.53:53\/UDP \(Service default\/dns\): service map full \(--bpf-lb-map-max 2 entries\); pending until room frees$/)).toHaveLength(1);
    expect(log.matching(/^info sync: 0 frontends, 0 backends, 0 writes in [\d.]+ms, 1 skipped/)).toHaveLength(1);
    // Each periodic sync tried again, and said so at debug level only.
    expect(log.matching(/^debug sync: 0 frontends, 0 backends, 0 writes in [\d.]+ms, 1 skipped, maps checked$/)).toHaveLength(2);
    // One backend fewer: master and one slot fit.
    put(state, objects(['198.18.1.1']));
    jest.advanceTimersByTime(0);
    expect(maps.view()['198.19.0.53:53/UDP'].backends).toEqual(['198.18.1.1:53']);
    expect(log.matching(/^info capacity: 1 pending frontends programmed or no longer wanted; 0 still pending$/)).toHaveLength(1);
    loop.stop();
  });

  test('a change of the node context causes a sync', () => {
    const { log, loop, state } = setup();
    put(state, objects(['198.18.1.1']));
    loop.start();
    state.setNode(node(['198.18.0.1'], 'node-a', 'zone-a'));
    state.setNode(node(['198.18.0.1'], 'node-a', 'zone-a'));
    jest.advanceTimersByTime(0);
    expect(log.matching(/info sync:/)).toHaveLength(2);
    loop.stop();
  });

  test('the network programming latency runs from the trigger time to the sync', async () => {
    const { loop, state, metrics } = setup();
    loop.start();
    const changed = (name: string, at: number): EndpointSlice => {
      const s = slice(name, 'dns', 'IPv4', [ep('198.18.1.1')], [{ port: 53 }]);
      return { ...s, metadata: { ...s.metadata, annotations: { [LAST_CHANGE_TRIGGER_TIME]: new Date(at).toISOString() } } };
    };
    state.service('default/dns', objects([]).services[0]);
    jest.advanceTimersByTime(5000);
    // A change made 2.5s ago, and one from before the agent started: only the first counts.
    state.endpointSlice('default/dns-1', changed('dns-1', Date.now() - 2500));
    state.endpointSlice('default/dns-2', changed('dns-2', Date.now() - 3_600_000));
    jest.advanceTimersByTime(0);
    const h = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === 'kubeproxy_network_programming_duration_seconds')!;
    const values = h.values as { metricName?: string; value: number; labels: { le?: number } }[];
    expect(values.find((v) => v.metricName?.endsWith('_count'))?.value).toBe(1);
    expect(values.find((v) => v.labels.le === 2)?.value).toBe(0);
    expect(values.find((v) => v.labels.le === 3)?.value).toBe(1);
    loop.stop();
  });
});
