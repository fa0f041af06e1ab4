// The slots and backends a socket plan writes, a column per field until the
// plan is applied, then made into the addon's objects a batch at a time
// (Batched, ../plan.ts): a first sync at 100k services of 10 backends writes
// 1.1M slots and 1M backends, and as objects they all lived until the last
// was written.
import { Frontend } from '../../model/frontend';
import { Column } from '../column';
import { Backend, ServiceSlot } from '../native';
import { Batched } from '../plan';

// Literal objects of one shape: spreading into them is many times slower.
export function slotOf(f: Frontend, slot: number, svcId: number, backendId: number, count: number, affinityTimeout: number): ServiceSlot {
  return { addr: f.addr, port: f.port, proto: f.proto, slot, svcId, backendId, count, affinityTimeout };
}

/** Backend slots (> 0) to write: no count, no affinity timeout of their own. */
export class SlotWrites {
  private readonly frontends = new Column<Frontend>();
  private readonly slots = new Column<number>();
  private readonly svcIds = new Column<number>();
  private readonly backendIds = new Column<number>();

  push(f: Frontend, slot: number, svcId: number, backendId: number): void {
    this.frontends.push(f);
    this.slots.push(slot);
    this.svcIds.push(svcId);
    this.backendIds.push(backendId);
  }

  list(): Batched<ServiceSlot> {
    return new Batched(this.slots.length, (from, to) => {
      const out: ServiceSlot[] = [];
      for (let i = from; i < to; i++) out.push(slotOf(this.frontends.at(i), this.slots.at(i), this.svcIds.at(i), this.backendIds.at(i), 0, 0));
      return out;
    });
  }
}

export class BackendWrites {
  private readonly ids = new Column<number>();
  private readonly addrs = new Column<string>();
  private readonly ports = new Column<number>();
  private readonly svcIds = new Column<number>();

  push(id: number, addr: string, port: number, svcId: number): void {
    this.ids.push(id);
    this.addrs.push(addr);
    this.ports.push(port);
    this.svcIds.push(svcId);
  }

  private at(i: number): Backend {
    return { id: this.ids.at(i), addr: this.addrs.at(i), port: this.ports.at(i), svcId: this.svcIds.at(i) };
  }

  /** Each backend as a new object, one at a time. */
  *values(): IterableIterator<Backend> {
    for (let i = 0; i < this.ids.length; i++) yield this.at(i);
  }

  list(): Batched<Backend> {
    return new Batched(this.ids.length, (from, to) => {
      const out: Backend[] = [];
      for (let i = from; i < to; i++) out.push(this.at(i));
      return out;
    });
  }
}
