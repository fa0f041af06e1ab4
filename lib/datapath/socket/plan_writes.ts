// The slots and backends a socket plan writes, a column per field until the
// plan is applied, then made into the addon's objects a batch at a time
// (Batched, ../plan.ts): a first sync at 100k services of 10 backends writes
// 1.1M slots and 1M backends, and as objects they all lived until the last
// was written.
import { Frontend } from '../../model/frontend';
import { Backend, ServiceSlot } from '../native';
import { Batched } from '../plan';

// Literal objects of one shape: spreading into them is many times slower.
export function slotOf(f: Frontend, slot: number, svcId: number, backendId: number, count: number, affinityTimeout: number): ServiceSlot {
  return { addr: f.addr, port: f.port, proto: f.proto, slot, svcId, backendId, count, affinityTimeout };
}

/** Backend slots (> 0) to write: no count, no affinity timeout of their own. */
export class SlotWrites {
  private readonly frontends: Frontend[] = [];
  private readonly slots: number[] = [];
  private readonly svcIds: number[] = [];
  private readonly backendIds: number[] = [];

  push(f: Frontend, slot: number, svcId: number, backendId: number): void {
    this.frontends.push(f);
    this.slots.push(slot);
    this.svcIds.push(svcId);
    this.backendIds.push(backendId);
  }

  list(): Batched<ServiceSlot> {
    return new Batched(this.slots.length, (from, to) => {
      const out: ServiceSlot[] = [];
      for (let i = from; i < to; i++) out.push(slotOf(this.frontends[i], this.slots[i], this.svcIds[i], this.backendIds[i], 0, 0));
      return out;
    });
  }
}

export class BackendWrites {
  private readonly ids: number[] = [];
  private readonly addrs: string[] = [];
  private readonly ports: number[] = [];
  private readonly svcIds: number[] = [];

  push(id: number, addr: string, port: number, svcId: number): void {
    this.ids.push(id);
    this.addrs.push(addr);
    this.ports.push(port);
    this.svcIds.push(svcId);
  }

  private at(i: number): Backend {
    return { id: this.ids[i], addr: this.addrs[i], port: this.ports[i], svcId: this.svcIds[i] };
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
