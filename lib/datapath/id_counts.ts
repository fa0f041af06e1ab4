// A count per id, for the plan's id bookkeeping at 100k backends: ids 1..max
// in a typed array (4 bytes an id, where a Map of numbers takes about 36),
// and in a Map the ids beyond max, which only maps written by someone else
// can hold.
export class IdCounts {
  private readonly dense: Uint32Array;
  private readonly sparse = new Map<number, number>();

  constructor(private readonly max: number) {
    this.dense = new Uint32Array(max + 1);
  }

  get(id: number): number {
    return this.isDense(id) ? this.dense[id] : (this.sparse.get(id) ?? 0);
  }

  /** Adds delta and returns the sum; a sum below 1 leaves the id at 0. */
  add(id: number, delta: number): number {
    const n = this.get(id) + delta;
    if (this.isDense(id)) this.dense[id] = Math.max(0, n);
    else if (n > 0) this.sparse.set(id, n);
    else this.sparse.delete(id);
    return n;
  }

  private isDense(id: number): boolean {
    return Number.isInteger(id) && id >= 1 && id <= this.max;
  }
}
