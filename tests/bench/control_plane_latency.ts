// Network programming latency of single endpoint changes: one EndpointSlice
// at a time is patched through the API server (or, for the growth benchmark,
// one manifest file rewritten), and the clock runs from just before the
// write until the change is in the maps.
//
// "In the maps" is seen without polling dumps: a dump takes about a second
// at 10k services, which would both load the machine and blur the figure.
// The agent logs "sync: ... N writes" only after a sync's map writes are
// done, so the arrival of the first such line with writes after the patch is
// when the maps held it (pipe delay: microseconds). The first CONFIRMED
// changes are each confirmed by one dump right after that line; should the
// maps not show one yet, dumps are polled and it counts with the time they
// first do. The caller checks every service's endpoints after the run.
import { SocketMaps } from '../../lib/datapath/native';
import { LineProcess } from '../helpers/line_process';
import { sleep } from '../helpers/sleep';
import { ApiWriter } from './control_plane_api';
import { changedEndpoint, replaceEndpoints } from './control_plane_objects';
import { checkMaps } from './control_plane_maps';
import { histogramDelta, Histogram, parseHistogram, scrape } from './control_plane_metrics';

const CHANGE_TIMEOUT_MS = 10_000;
const CONFIRM_POLL_MS = 5;
const CONFIRMED = 10;
/** A broken agent fails every change after a timeout: stop early. */
const MAX_FAILURES = 5;
// Coprime with 1000 and 10000: successive changes touch different slices.
const STRIDE = 37;
const SYNC_WITH_WRITES = /\bsync: .* (\d+) writes in ([\d.]+)ms/;
const PROGRAMMING_METRIC = 'kubeproxy_network_programming_duration_seconds';
const SYNC_METRIC = 'kubeproxy_sync_proxy_rules_duration_seconds';

export interface LatencyRun {
  /** Milliseconds from before the write to the change in the maps. */
  latencies: number[];
  /** Changes confirmed by a dump right after their sync's log line. */
  confirmed: number;
  /** Of those, the ones the first dump did not show yet. */
  lateConfirms: number;
  /** The agent's own sync times ("in X ms") of the syncs that took a change. */
  syncMs: number[];
  /** What the agent's histograms observed during the run. */
  programming: Histogram;
  syncs: Histogram;
  failures: string[];
}

export interface LatencyOptions {
  proc: LineProcess;
  metricsPort: number;
  api: ApiWriter;
  maps: SocketMaps;
  clusterIPs: string[];
  /** Each service's endpoint addresses as last written; the changes update it. */
  current: string[][];
  changes: number;
  /** Index of the first change's address (changedEndpoint): runs must not reuse them. */
  firstChange: number;
}

/** Resolves with performance.now() and the match when the first "sync: ... N
 *  writes" line with N > 0 arrives at or after line index `from`. */
function nextSyncWithWrites(proc: LineProcess, from: number): Promise<{ at: number; m: RegExpExecArray }> {
  let scanned = from;
  return proc.waitUntil(
    'a sync with map writes',
    () => {
      for (; scanned < proc.lines.length; scanned++) {
        const m = SYNC_WITH_WRITES.exec(proc.lines[scanned]);
        if (m && Number(m[1]) > 0) return { at: performance.now(), m };
      }
      return undefined;
    },
    CHANGE_TIMEOUT_MS,
  );
}

/** When inMaps() holds (performance.now()), and whether its first look did;
 *  undefined when it does not by the deadline. */
async function confirm(inMaps: () => boolean, deadline: number): Promise<{ at: number; first: boolean } | undefined> {
  for (let first = true; ; first = false) {
    if (inMaps()) return { at: performance.now(), first };
    if (performance.now() > deadline) return undefined;
    await sleep(CONFIRM_POLL_MS);
  }
}

/** One change after another, whatever makes them (an API write, a manifest file). */
export interface ChangeSource {
  proc: LineProcess;
  changes: number;
  services: number;
  /** Makes change n (0-based) to service i; resolves once it is written, with
   *  its name for errors and the check that the maps hold it. */
  write(n: number, i: number): Promise<{ what: string; inMaps: () => boolean }>;
}

export type ChangeTimes = Omit<LatencyRun, 'programming' | 'syncs'>;

/** Each change timed from before its write to the first sync with map writes
 *  after it; the first CONFIRMED are confirmed in the maps too. */
export async function timeChanges(c: ChangeSource): Promise<ChangeTimes> {
  const run: ChangeTimes = { latencies: [], confirmed: 0, lateConfirms: 0, syncMs: [], failures: [] };
  for (let n = 0; n < c.changes && run.failures.length < MAX_FAILURES; n++) {
    const i = (n * STRIDE) % c.services;
    const synced = nextSyncWithWrites(c.proc, c.proc.lines.length);
    synced.catch(() => undefined);
    const start = performance.now();
    const { what, inMaps } = await c.write(n, i);
    let sync: { at: number; m: RegExpExecArray };
    try {
      sync = await synced;
    } catch (e) {
      run.failures.push(`change ${n + 1} (${what}): ${(e as Error).message.split('\n')[0]}`);
      continue;
    }
    run.syncMs.push(Number(sync.m[2]));
    if (n >= CONFIRMED) {
      run.latencies.push(sync.at - start);
      continue;
    }
    const seen = await confirm(inMaps, start + CHANGE_TIMEOUT_MS);
    run.confirmed++;
    if (seen === undefined) {
      run.failures.push(`change ${n + 1} (${what}): logged as synced, not in the maps after ${CHANGE_TIMEOUT_MS} ms`);
    } else if (seen.first) {
      run.latencies.push(sync.at - start);
    } else {
      run.lateConfirms++;
      run.latencies.push(seen.at - start);
    }
  }
  if (run.failures.length >= MAX_FAILURES) run.failures.push(`stopped after ${MAX_FAILURES} failed changes`);
  return run;
}

export async function measureLatency(opts: LatencyOptions): Promise<LatencyRun> {
  const before = await scrape(opts.metricsPort);
  const run = await timeChanges({
    proc: opts.proc,
    changes: opts.changes,
    services: opts.clusterIPs.length,
    async write(n, i) {
      const addresses = [changedEndpoint(opts.firstChange + n), ...opts.current[i].slice(1)];
      await replaceEndpoints(opts.api, i, addresses, new Date());
      opts.current[i] = addresses;
      const clusterIP = opts.clusterIPs[i];
      return { what: `service ${i} -> ${addresses[0]}`, inMaps: () => checkMaps(opts.maps, [{ clusterIP, addresses }]).matching === 1 };
    },
  });
  const after = await scrape(opts.metricsPort);
  const delta = (name: string) => histogramDelta(parseHistogram(after, name), parseHistogram(before, name));
  return { ...run, programming: delta(PROGRAMMING_METRIC), syncs: delta(SYNC_METRIC) };
}
