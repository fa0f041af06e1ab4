// Id allocation for services and backends: the smallest free id from 1..max.
// Ids are map keys and array indexes in the datapath, so they stay small and
// dense; 0 means "none" in map values.
import { IdCounts } from './id_counts';

export class IdAllocator {
  private readonly taken: IdCounts;
  /** Ids taken, those beyond max (read back from the maps) included. */
  private count = 0;
  private cursor = 1;

  constructor(
    private readonly max: number,
    used: Iterable<number>,
  ) {
    this.taken = new IdCounts(max);
    for (const id of used) this.take(id);
  }

  get free(): number {
    return Math.max(0, this.max - this.count);
  }

  /** undefined when all of 1..max are taken. */
  allocate(): number | undefined {
    while (this.cursor <= this.max && this.taken.get(this.cursor) > 0) this.cursor++;
    if (this.cursor > this.max) return undefined;
    this.take(this.cursor);
    return this.cursor++;
  }

  /** id is free again: the next allocate may return it. */
  release(id: number): void {
    if (this.taken.get(id) === 0) return;
    this.taken.add(id, -1);
    this.count--;
    this.cursor = Math.min(this.cursor, id);
  }

  private take(id: number): void {
    if (this.taken.get(id) > 0) return;
    this.taken.add(id, 1);
    this.count++;
  }
}
