import { BoundedFrequencyRunner, RunKind, RunnerOptions } from '../../lib/sync/runner';

/** A runner over a recording fn; runs[i] = [ms since start, kind]. */
function setup(opts: Partial<RunnerOptions>, results: boolean[] = []) {
  const t0 = Date.now();
  const runs: [number, RunKind][] = [];
  const runner = new BoundedFrequencyRunner(
    (kind) => {
      runs.push([Date.now() - t0, kind]);
      return results.shift() ?? true;
    },
    { minIntervalMs: 1000, maxIntervalMs: 30_000, retryIntervalMs: 1000, ...opts },
  );
  return { runner, runs, at: (ms: number) => jest.advanceTimersByTime(t0 + ms - Date.now()) };
}

describe('bounded frequency runner', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('start runs a full sync at once; nothing runs before start', () => {
    const { runner, runs, at } = setup({});
    runner.run();
    at(5000);
    expect(runs).toEqual([]);
    runner.start();
    expect(runs).toEqual([[5000, 'full']]);
    runner.stop();
  });

  test('a request runs as soon as minInterval after the previous run allows, and a burst is one run', () => {
    const { runner, runs, at } = setup({});
    runner.start();
    at(200);
    runner.run();
    at(500);
    runner.run();
    runner.run();
    at(999);
    expect(runs).toEqual([[0, 'full']]);
    at(1000);
    expect(runs).toEqual([
      [0, 'full'],
      [1000, 'changes'],
    ]);
    at(5000);
    runner.run();
    at(5000);
    expect(runs[2]).toEqual([5000, 'changes']);
    runner.stop();
  });

  test('minInterval 0: a request runs on the next tick', () => {
    const { runner, runs, at } = setup({ minIntervalMs: 0 });
    runner.start();
    at(10);
    runner.run();
    runner.run();
    expect(runs).toHaveLength(1);
    jest.advanceTimersByTime(0);
    expect(runs).toEqual([
      [0, 'full'],
      [10, 'changes'],
    ]);
    runner.stop();
  });

  test('a full run comes every maxInterval even when runs on request keep coming', () => {
    const { runner, runs, at } = setup({});
    runner.start();
    for (let t = 2000; t <= 62_000; t += 2000) {
      at(t);
      runner.run();
    }
    at(62_000);
    expect(runs.filter(([, kind]) => kind === 'full').map(([t]) => t)).toEqual([0, 30_000, 60_000]);
    runner.stop();
  });

  test('a failed run is retried after retryInterval, and a failed full run is retried as a full run', () => {
    const { runner, runs, at } = setup({ retryIntervalMs: 3000 }, [false, false, true]);
    runner.start();
    at(2999);
    expect(runs).toEqual([[0, 'full']]);
    at(3000);
    at(6000);
    expect(runs).toEqual([
      [0, 'full'],
      [3000, 'full'],
      [6000, 'full'],
    ]);
    at(35_999);
    expect(runs).toHaveLength(3);
    at(36_000);
    expect(runs[3]).toEqual([36_000, 'full']);
    runner.stop();
  });

  test('stop ends the schedule', () => {
    const { runner, runs, at } = setup({});
    runner.start();
    runner.run();
    runner.stop();
    at(100_000);
    expect(runs).toEqual([[0, 'full']]);
  });

  test('maxInterval must not be shorter than minInterval', () => {
    expect(() => setup({ minIntervalMs: 2000, maxIntervalMs: 1000 })).toThrow('syncPeriod (1000ms) must not be shorter than minSyncPeriod (2000ms)');
  });
});
