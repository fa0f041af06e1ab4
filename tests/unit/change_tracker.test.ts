import { ChangeTracker } from '../../lib/sync/change_tracker';

describe('change tracker', () => {
  test('repeated updates of one object between syncs are one change', () => {
    const t = new ChangeTracker<{ v: number }>();
    expect(t.update('a', { v: 1 })).toBe(true);
    expect(t.update('a', { v: 2 })).toBe(true);
    expect(t.update('b', { v: 1 })).toBe(true);
    expect(t.pendingCount).toBe(2);
    expect(t.commit()).toEqual([
      { key: 'a', was: undefined, now: { v: 2 } },
      { key: 'b', was: undefined, now: { v: 1 } },
    ]);
    expect(t.pendingCount).toBe(0);
    expect(t.commit()).toEqual([]);
  });

  test('an object that returns to its synced state is no change; an equal copy is none either', () => {
    const t = new ChangeTracker<{ v: number }>();
    t.update('a', { v: 1 });
    t.commit();
    expect(t.update('a', { v: 2 })).toBe(true);
    expect(t.update('a', { v: 1 })).toBe(false);
    expect(t.pendingCount).toBe(0);
    expect(t.commit()).toEqual([]);
  });

  test('add then delete before a sync is nothing; delete of a synced object is a change', () => {
    const t = new ChangeTracker<{ v: number }>();
    t.update('a', { v: 1 });
    expect(t.update('a', undefined)).toBe(false);
    expect(t.commit()).toEqual([]);
    t.update('b', { v: 1 });
    t.commit();
    expect(t.update('b', undefined)).toBe(true);
    expect(t.commit()).toEqual([{ key: 'b', was: { v: 1 }, now: undefined }]);
  });

  test('a change says what the last commit saw and what there is now', () => {
    const t = new ChangeTracker<string>();
    t.update('a', 'x');
    t.commit();
    t.update('a', 'y');
    t.update('a', 'z');
    expect(t.commit()).toEqual([{ key: 'a', was: 'x', now: 'z' }]);
  });
});
