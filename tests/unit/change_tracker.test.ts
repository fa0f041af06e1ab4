import { ChangeTracker } from '../../lib/sync/change_tracker';

describe('change tracker', () => {
  test('repeated updates of one object between syncs are one change', () => {
    const t = new ChangeTracker<{ v: number }>();
    expect(t.update('a', { v: 1 })).toBe(true);
    expect(t.update('a', { v: 2 })).toBe(true);
    expect(t.update('b', { v: 1 })).toBe(true);
    expect(t.pendingCount).toBe(2);
    expect(t.values()).toEqual([]);
    expect(t.commit().sort()).toEqual(['a', 'b']);
    expect(t.pendingCount).toBe(0);
    expect(t.values()).toEqual([{ v: 2 }, { v: 1 }]);
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
    t.commit();
    expect(t.size).toBe(0);
  });

  test('values are those of the last commit, without pending changes', () => {
    const t = new ChangeTracker<string>();
    t.update('a', 'x');
    t.commit();
    t.update('b', 'y');
    t.update('a', undefined);
    expect(t.values()).toEqual(['x']);
  });
});
