import { IdCounts } from '../../lib/datapath/id_counts';
import { IdAllocator } from '../../lib/datapath/ids';

test('allocates the smallest free ids, then runs out', () => {
  const ids = new IdAllocator(6, [2, 3, 5]);
  expect(ids.free).toBe(3);
  expect([ids.allocate(), ids.allocate(), ids.allocate()]).toEqual([1, 4, 6]);
  expect(ids.free).toBe(0);
  expect(ids.allocate()).toBeUndefined();
});

test('a released id is the next one allocated; releasing a free id changes nothing', () => {
  const ids = new IdAllocator(4, [1, 2, 3]);
  ids.release(2);
  ids.release(2);
  expect(ids.free).toBe(2);
  expect([ids.allocate(), ids.allocate(), ids.allocate()]).toEqual([2, 4, undefined]);
});

test('ids beyond max read back from the maps count against what is free until released', () => {
  const ids = new IdAllocator(3, [7, 1]);
  expect(ids.free).toBe(1);
  ids.release(7);
  expect(ids.free).toBe(2);
  expect([ids.allocate(), ids.allocate(), ids.allocate()]).toEqual([2, 3, undefined]);
});

test('counts per id, in 1..max and beyond it; a sum below 1 leaves the id at 0', () => {
  const counts = new IdCounts(4);
  expect([counts.add(2, 1), counts.add(2, 1), counts.add(9, 1), counts.add(0, 1)]).toEqual([1, 2, 1, 1]);
  expect([counts.get(2), counts.get(9), counts.get(0), counts.get(3)]).toEqual([2, 1, 1, 0]);
  expect([counts.add(3, -1), counts.add(9, -1), counts.add(2, -2)]).toEqual([-1, 0, 0]);
  expect([counts.get(3), counts.get(9), counts.get(2)]).toEqual([0, 0, 0]);
});
