import { SyncLoop } from '../../lib/agent';
import { Reconciler } from '../../lib/datapath/reconciler';
import { ManifestObjects } from '../../lib/sources/manifest';
import { FakeMaps } from './fake_maps';
import { MemoryLogger } from './logger';
import { ep, service, slice } from './objects';

const objects = (backends: string[], proto: 'TCP' | 'UDP' = 'UDP'): ManifestObjects => ({
  services: [service('dns', { clusterIP: '198.19.0.53', ports: [{ port: 53, protocol: proto }] })],
  endpointSlices: [slice('dns-1', 'dns', 'IPv4', backends.map((b) => ep(b)), [{ port: 53, protocol: proto }])],
});

function setup() {
  const maps = new FakeMaps(100);
  const log = new MemoryLogger();
  const destroyed: { addr: string; port: number }[][] = [];
  const dp = {
    destroyUdpSockets: (targets: { addr: string; port: number }[], netns: string[]) => {
      expect(netns.length).toBeGreaterThan(0);
      destroyed.push(targets);
      return 1;
    },
  };
  const loop = new SyncLoop(dp, new Reconciler(maps, { lbMapMax: 100 }), log, 'test');
  return { maps, log, destroyed, loop };
}

describe('agent sync loop', () => {
  afterEach(() => jest.useRealTimers());

  test('logs one line per sync and "kpr: ready" once, after the first', () => {
    const { log, loop } = setup();
    loop.update(objects(['198.18.1.1', '198.18.1.2']));
    loop.update(objects(['198.18.1.1', '198.18.1.2']));
    expect(log.lines.filter((l) => l.startsWith('info ')).map((l) => l.replace(/in [\d.]+ms/, 'in Xms'))).toEqual([
      'info sync: 1 frontends, 2 backends, 5 writes in Xms',
      'info kpr: ready (test)',
      'info sync: 1 frontends, 2 backends, 0 writes in Xms',
    ]);
  });

  test('a UDP backend that goes has its connected sockets destroyed', () => {
    const { destroyed, loop, log } = setup();
    loop.update(objects(['198.18.1.1', '198.18.1.2']));
    loop.update(objects(['198.18.1.1']));
    expect(destroyed).toEqual([[{ addr: '198.18.1.2', port: 53 }]]);
    expect(log.matching(/udp: destroyed 1 connected sockets to removed backends 198\.18\.1\.2:53/)).toHaveLength(1);
  });

  test('a failed sync is retried with the latest objects; ready waits for success', () => {
    jest.useFakeTimers();
    const { maps, log, loop } = setup();
    maps.failAfter = 1;
    loop.update(objects(['198.18.1.1']));
    expect(log.matching(/error sync failed: injected failure; retrying in 1000ms/)).toHaveLength(1);
    expect(log.matching(/kpr: ready/)).toHaveLength(0);
    jest.advanceTimersByTime(1000);
    expect(log.matching(/kpr: ready/)).toHaveLength(1);
    expect(maps.view()['198.19.0.53:53/UDP'].backends).toEqual(['198.18.1.1:53']);
    loop.stop();
  });

  test('a frontend claimed by two services is reported once, not on every sync', () => {
    const { log, loop } = setup();
    const twice: ManifestObjects = {
      services: [
        service('a', { clusterIP: '198.19.0.53', ports: [{ port: 53 }] }),
        service('b', { clusterIP: '198.19.0.53', ports: [{ port: 53 }] }),
      ],
      endpointSlices: [],
    };
    loop.update(twice);
    loop.update(twice);
    expect(log.matching(/error Service default\/b: .* is already served by Service default\/a/)).toHaveLength(1);
  });

  test('skipped frontends are logged as capacity errors', () => {
    const maps = new FakeMaps(2);
    const log = new MemoryLogger();
    const loop = new SyncLoop({ destroyUdpSockets: () => 0 }, new Reconciler(maps, { lbMapMax: 2 }), log, 'test');
    loop.update(objects(['198.18.1.1', '198.18.1.2']));
    expect(log.matching(/^error capacity: 198\.19\.0\.53:53\/UDP \(Service default\/dns\): service map full \(--bpf-lb-map-max 2 entries\); skipped$/)).toHaveLength(1);
    expect(log.matching(/sync: 0 frontends, 0 backends, 0 writes in [\d.]+ms, 1 skipped/)).toHaveLength(1);
  });
});
