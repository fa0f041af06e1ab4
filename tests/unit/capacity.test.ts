import { SkippedFrontend } from '../../lib/datapath/plan';
import { serviceEvent } from '../../lib/sources/kube_events';
import { CAPACITY_EVENT_REASON, CapacityReport, MAX_EVENTS_PER_SYNC } from '../../lib/sync/capacity';
import { LbName } from '../../lib/sync/lb_sync';
import { MemoryLogger } from './logger';
import { frontend } from './objects';

const skipped = (i: number, service = `default/s${i}`): SkippedFrontend => ({
  frontend: frontend({ addr: `198.19.0.${i}`, port: 80, serviceName: service }),
  reason: `198.19.0.${i}:80/TCP (Service ${service}): service map full (--bpf-lb-map-max 4 entries)`,
});

function setup() {
  const log = new MemoryLogger();
  const pending: [LbName, number][] = [];
  const events: [string, string, string][] = [];
  const report = new CapacityReport({ log, pending: (d, n) => void pending.push([d, n]) });
  return { log, pending, events, report, record: () => report.recordEvents((...e) => void events.push(e)) };
}

describe('capacity report', () => {
  test('a frontend that does not fit is logged and put in an Event when it first appears, not at every sync', () => {
    const { log, pending, events, report, record } = setup();
    record();
    report.report('socket', [skipped(1)]);
    report.report('socket', [skipped(1)]);
    report.report('socket', [skipped(1), skipped(2)]);
    expect(log.matching(/^error capacity:/)).toEqual([
      'error capacity: 198.19.0.1:80/TCP (Service default/s1): service map full (--bpf-lb-map-max 4 entries); pending until room frees',
      'error capacity: 198.19.0.2:80/TCP (Service default/s2): service map full (--bpf-lb-map-max 4 entries); pending until room frees',
    ]);
    expect(events.map(([svc, reason]) => [svc, reason])).toEqual([['default/s1', CAPACITY_EVENT_REASON], ['default/s2', CAPACITY_EVENT_REASON]]);
    expect(events[0][2]).toMatch(/could not program frontend 198\.19\.0\.1:80\/TCP .*service map full.*retried at every sync/);
    expect(pending).toEqual([['socket', 1], ['socket', 1], ['socket', 2]]);
  });

  test('pending frontends that leave the list are logged; one that comes back is reported again', () => {
    const { log, pending, report } = setup();
    report.report('socket', [skipped(1), skipped(2)]);
    report.report('socket', [skipped(2)]);
    report.report('socket', []);
    report.report('socket', [skipped(1)]);
    expect(log.lines.filter((l) => !l.startsWith('error'))).toEqual([
      'info capacity: 1 pending frontends programmed or no longer wanted; 1 still pending',
      'info capacity: 1 pending frontends programmed or no longer wanted; 0 still pending',
    ]);
    expect(log.matching(/^error capacity: 198\.19\.0\.1:/)).toHaveLength(2);
    expect(pending.map(([, n]) => n)).toEqual([2, 1, 0, 1]);
  });

  test('the socket and edge LBs are counted apart', () => {
    const { log, pending, report } = setup();
    report.report('socket', [skipped(1)]);
    report.report('edge', [skipped(1)]);
    report.report('socket', []);
    expect(log.matching(/^error capacity: edge 198\.19\.0\.1:/)).toHaveLength(1);
    expect(pending).toEqual([['socket', 1], ['edge', 1], ['socket', 0]]);
  });

  test('one Event per Service, at most MAX_EVENTS_PER_SYNC per sync; the rest are counted in the log', () => {
    const { log, events, report, record } = setup();
    record();
    const many = Array.from({ length: MAX_EVENTS_PER_SYNC + 5 }, (_, i) => skipped(i + 1));
    report.report('socket', [...many, { ...skipped(200, 'default/s1'), reason: 'another port of s1' }]);
    expect(events).toHaveLength(MAX_EVENTS_PER_SYNC);
    expect(new Set(events.map(([svc]) => svc)).size).toBe(MAX_EVENTS_PER_SYNC);
    expect(log.matching(/^warn capacity: no Event for 5 more services that do not fit$/)).toHaveLength(1);
  });

  test('the Event is a core/v1 Warning on the Service, from kpr on this node', () => {
    expect(serviceEvent('ns1/web', CAPACITY_EVENT_REASON, 'full', 'node-a', new Date('2026-01-02T03:04:05.678Z'))).toEqual({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: 'web.', namespace: 'ns1' },
      involvedObject: { apiVersion: 'v1', kind: 'Service', namespace: 'ns1', name: 'web' },
      type: 'Warning',
      reason: CAPACITY_EVENT_REASON,
      message: 'full',
      source: { component: 'kpr', host: 'node-a' },
      reportingComponent: 'kpr',
      reportingInstance: 'node-a',
      firstTimestamp: '2026-01-02T03:04:05Z',
      lastTimestamp: '2026-01-02T03:04:05Z',
      count: 1,
    });
  });
});
