// A list that only grows, kept in arrays of a fixed size: a plan's lists of
// a million writes grew as arrays do, by copying into one half again as
// large, and each old copy was a large object that only a full collection
// frees (110 MB of the large-object space was such garbage at the peak of a
// 100k-service start, --trace-gc-verbose).

/** Entries per array: 64 KB of pointers, under V8's large-object size. */
const CHUNK = 8192;

export class Column<T> {
  private readonly chunks: T[][] = [];
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(v: T): void {
    if (this.count % CHUNK === 0) this.chunks.push([]);
    this.chunks[this.chunks.length - 1].push(v);
    this.count++;
  }

  at(i: number): T {
    return this.chunks[Math.floor(i / CHUNK)][i % CHUNK];
  }
}
