// Id allocation for services and backends: the smallest free id from 1..max.
// Ids are map keys and array indexes in the datapath, so they stay small and
// dense; 0 means "none" in map values.
export class IdAllocator {
  private readonly used: Set<number>;
  private cursor = 1;

  constructor(
    private readonly max: number,
    used: Iterable<number>,
  ) {
    this.used = new Set(used);
  }

  get free(): number {
    return Math.max(0, this.max - this.used.size);
  }

  /** undefined when all of 1..max are taken. */
  allocate(): number | undefined {
    while (this.cursor <= this.max && this.used.has(this.cursor)) this.cursor++;
    if (this.cursor > this.max) return undefined;
    this.used.add(this.cursor);
    return this.cursor++;
  }

  /** id is free again: the next allocate may return it. */
  release(id: number): void {
    if (this.used.delete(id)) this.cursor = Math.min(this.cursor, id);
  }
}
