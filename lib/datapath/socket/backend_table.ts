// The socket LB's programmed backends by id (programmed.ts): a column per
// field, indexed by id, rather than a Map of objects. Ids are dense (the
// smallest free one is taken), and there are a million of them at 100k
// services of 10 backends, where an object and a Map entry each held about
// 85 MB (heap snapshot at 10k: 100k objects of 48 bytes, a 3.7 MB table).
import { Backend } from '../native';

export class BackendTable {
  /** undefined: no backend of that id. */
  private readonly addrs: (string | undefined)[] = [];
  private readonly ports: number[] = [];
  private readonly svcIds: number[] = [];
  private count = 0;

  constructor(backends: Iterable<Backend> = []) {
    for (const b of backends) this.set(b);
  }

  get size(): number {
    return this.count;
  }

  has(id: number): boolean {
    return this.addrs[id] !== undefined;
  }

  /** A new object on each call: for what reads a few; addrOf, portOf and svcIdOf read none. */
  get(id: number): Backend | undefined {
    const addr = this.addrs[id];
    return addr === undefined ? undefined : { id, addr, port: this.ports[id], svcId: this.svcIds[id] };
  }

  addrOf(id: number): string | undefined {
    return this.addrs[id];
  }

  portOf(id: number): number {
    return this.ports[id];
  }

  svcIdOf(id: number): number | undefined {
    return this.has(id) ? this.svcIds[id] : undefined;
  }

  set(b: Backend): void {
    // Grown in order: a write past the end would make the columns sparse (a dictionary, not an array).
    while (this.addrs.length <= b.id) {
      this.addrs.push(undefined);
      this.ports.push(0);
      this.svcIds.push(0);
    }
    if (this.addrs[b.id] === undefined) this.count++;
    this.addrs[b.id] = b.addr;
    this.ports[b.id] = b.port;
    this.svcIds[b.id] = b.svcId;
  }

  delete(id: number): boolean {
    if (!this.has(id)) return false;
    this.addrs[id] = undefined;
    this.count--;
    return true;
  }

  *keys(): IterableIterator<number> {
    for (let id = 0; id < this.addrs.length; id++) if (this.addrs[id] !== undefined) yield id;
  }

  *values(): IterableIterator<Backend> {
    for (const id of this.keys()) yield this.get(id) as Backend;
  }
}
