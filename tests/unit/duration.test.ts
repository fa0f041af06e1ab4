import { formatDuration, parseDuration } from '../../lib/duration';

describe('Go durations', () => {
  test.each([
    ['0', 0],
    ['0s', 0],
    ['1s', 1000],
    ['30s', 30_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['2h45m', 9_900_000],
    ['1500us', 1.5],
    ['1000000ns', 1],
  ])('%s = %dms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  test.each(['', '1', '-1s', '1d', 's', '1s ', '1.s.', '1m30'])('%j is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  test.each([
    [0, '0s'],
    [500, '500ms'],
    [1000, '1s'],
    [90_000, '1m30s'],
    [3_600_000, '1h'],
  ])('%dms prints as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
