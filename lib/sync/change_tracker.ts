// The objects of one kind as the last sync saw them, and what changed since,
// as kube-proxy's change trackers keep them: repeated updates of an object
// between two syncs are one change, and an object that returns to what was
// synced is no change at all, so a burst of no-op updates causes no sync.
import { isDeepStrictEqual } from 'util';
import { Change } from '../model/object_change';

export class ChangeTracker<T> {
  private readonly synced = new Map<string, T>();
  /** Latest state by key; undefined: deleted. */
  private readonly pending = new Map<string, T | undefined>();

  /** Records the latest state of an object (undefined: deleted). Returns
   *  whether it now differs from what the last sync saw. */
  update(key: string, current: T | undefined): boolean {
    const synced = this.synced.get(key);
    const unchanged = current === undefined || synced === undefined ? current === synced : current === synced || isDeepStrictEqual(current, synced);
    if (unchanged) this.pending.delete(key);
    else this.pending.set(key, current);
    return !unchanged;
  }

  /** Objects with changes not yet synced. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Takes the pending changes into the synced state and returns them. */
  commit(): Change<T>[] {
    const changes: Change<T>[] = [];
    for (const [key, now] of this.pending) {
      changes.push({ key, was: this.synced.get(key), now });
      if (now === undefined) this.synced.delete(key);
      else this.synced.set(key, now);
    }
    this.pending.clear();
    return changes;
  }
}
