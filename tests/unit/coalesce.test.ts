import { Coalescer } from '../../lib/sources/coalesce';

describe('coalescer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('a burst runs once, after it settles', async () => {
    let runs = 0;
    const c = new Coalescer(async () => void runs++, 5, 100);
    for (let i = 0; i < 10; i++) {
      c.trigger();
      await jest.advanceTimersByTimeAsync(2);
    }
    expect(runs).toBe(0);
    await jest.advanceTimersByTimeAsync(5);
    expect(runs).toBe(1);
  });

  test('a burst that never settles still runs after the longest delay', async () => {
    let runs = 0;
    const c = new Coalescer(async () => void runs++, 5, 20);
    for (let i = 0; i < 12; i++) {
      c.trigger();
      await jest.advanceTimersByTimeAsync(2);
    }
    expect(runs).toBe(1);
  });

  test('a trigger during a run causes one more run after it, never an overlap', async () => {
    let running = 0;
    let overlap = false;
    let runs = 0;
    let release: () => void = () => undefined;
    const c = new Coalescer(
      () =>
        new Promise<void>((resolve) => {
          overlap ||= running > 0;
          running++;
          runs++;
          release = () => {
            running--;
            resolve();
          };
        }),
      1,
      10,
    );
    c.trigger();
    await jest.advanceTimersByTimeAsync(1);
    c.trigger();
    c.trigger();
    await jest.advanceTimersByTimeAsync(10);
    expect(runs).toBe(1);
    release();
    await jest.advanceTimersByTimeAsync(10);
    expect(runs).toBe(2);
    release();
    expect(overlap).toBe(false);
  });

  test('cancel drops a pending run', async () => {
    let runs = 0;
    const c = new Coalescer(async () => void runs++, 5, 100);
    c.trigger();
    c.cancel();
    await jest.advanceTimersByTimeAsync(200);
    expect(runs).toBe(0);
  });
});
