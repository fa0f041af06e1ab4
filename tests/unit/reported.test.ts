import { Reported } from '../../lib/sync/reported';

test('a message is reported when it appears, and again only after it went away', () => {
  const r = new Reported();
  expect(r.fresh(['a', 'b'])).toEqual(['a', 'b']);
  expect(r.fresh(['a', 'b'])).toEqual([]);
  expect(r.fresh(['b', 'c'])).toEqual(['c']);
  expect(r.fresh(['a', 'b', 'c'])).toEqual(['a']);
});
