import { assignSlots } from '../../lib/datapath/socket/slot_assignment';

describe('backends keep their slots when they can', () => {
  test.each<[string, string[], [number, string][], string[]]>([
    ['empty start fills in order', ['a', 'b', 'c'], [], ['a', 'b', 'c']],
    ['unchanged', ['a', 'b'], [[1, 'b'], [2, 'a']], ['b', 'a']],
    ['added backend takes the new slot', ['a', 'b', 'c'], [[1, 'b'], [2, 'c']], ['b', 'c', 'a']],
    ['removed backend: the last one moves into the hole', ['a', 'c'], [[1, 'a'], [2, 'b'], [3, 'c']], ['a', 'c']],
    ['replaced backend takes its slot', ['a', 'x', 'c'], [[1, 'a'], [2, 'b'], [3, 'c']], ['a', 'x', 'c']],
    ['a key held twice keeps the first slot', ['a', 'b'], [[1, 'a'], [2, 'a']], ['a', 'b']],
    ['all gone', [], [[1, 'a']], []],
  ])('%s', (_name, desired, current, want) => {
    expect(assignSlots(desired, new Map(current))).toEqual(want);
  });
});
