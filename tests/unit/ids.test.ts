import { IdAllocator } from '../../lib/datapath/ids';

test('allocates the smallest free ids, then runs out', () => {
  const ids = new IdAllocator(6, [2, 3, 5]);
  expect(ids.free).toBe(3);
  expect([ids.allocate(), ids.allocate(), ids.allocate()]).toEqual([1, 4, 6]);
  expect(ids.free).toBe(0);
  expect(ids.allocate()).toBeUndefined();
});
