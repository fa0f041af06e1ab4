// An in-memory SocketMaps that applies batches one element at a time, as
// the kernel does, and after every element checks what a concurrent lookup
// could see: every master's slots 1..count exist and point at existing
// backends. It records the operations and enforces map capacity.
import { Backend, MapDigests, SocketMaps, ServiceSlot, ServiceSlotKey, ServiceStats } from '../../lib/datapath/native';
import { backendsDigest, slotsDigest } from '../../lib/datapath/socket/map_digest';

export interface Op {
  op: 'updateBackends' | 'deleteBackends' | 'updateServices' | 'deleteServices';
  /** Slot numbers for service ops, backend ids for backend ops. */
  items: number[];
}

const slotKey = (k: ServiceSlotKey) => `${k.addr}|${k.port}|${k.proto}|${k.slot}`;

export class FakeMaps implements SocketMaps {
  readonly services = new Map<string, ServiceSlot>();
  readonly backends = new Map<number, Backend>();
  readonly ops: Op[] = [];
  /** Throws on the n-th element write from now (1-based), once. */
  failAfter?: number;

  constructor(private readonly capacity: number) {}

  private element(apply: () => void): void {
    if (this.failAfter !== undefined && --this.failAfter === 0) {
      this.failAfter = undefined;
      throw new Error('injected failure');
    }
    apply();
    this.checkLookups();
  }

  checkLookups(): void {
    for (const m of this.services.values()) {
      if (m.slot !== 0) continue;
      for (let i = 1; i <= m.count; i++) {
        const s = this.services.get(slotKey({ ...m, slot: i }));
        if (!s) throw new Error(`${m.addr}:${m.port}/${m.proto} counts ${m.count} slots but slot ${i} is missing`);
        if (!this.backends.has(s.backendId)) throw new Error(`${m.addr}:${m.port}/${m.proto} slot ${i} points at missing backend ${s.backendId}`);
      }
    }
  }

  updateBackends(backends: Backend[]): void {
    this.ops.push({ op: 'updateBackends', items: backends.map((b) => b.id) });
    for (const b of backends) {
      this.element(() => {
        if (!this.backends.has(b.id) && this.backends.size >= this.capacity) throw new Error('backend map full');
        this.backends.set(b.id, { ...b });
      });
    }
  }

  deleteBackends(ids: number[]): void {
    this.ops.push({ op: 'deleteBackends', items: [...ids] });
    for (const id of ids) this.element(() => this.backends.delete(id));
  }

  updateServices(slots: ServiceSlot[]): void {
    this.ops.push({ op: 'updateServices', items: slots.map((s) => s.slot) });
    for (const s of slots) {
      this.element(() => {
        const k = slotKey(s);
        if (!this.services.has(k) && this.services.size >= this.capacity) throw new Error('service map full');
        this.services.set(k, { ...s });
      });
    }
  }

  deleteServices(keys: ServiceSlotKey[]): void {
    this.ops.push({ op: 'deleteServices', items: keys.map((k) => k.slot) });
    for (const k of keys) this.element(() => this.services.delete(slotKey(k)));
  }

  mapDigests(): MapDigests {
    return { services: slotsDigest(this.services.values()), backends: backendsDigest(this.backends.values()) };
  }

  /** Digests what the maps hold a microtask later: writes made right after the call are seen. */
  async mapDigestsLater(): Promise<MapDigests> {
    await Promise.resolve();
    return this.mapDigests();
  }

  dumpServices(): ServiceSlot[] {
    return [...this.services.values()].map((s) => ({ ...s }));
  }

  dumpBackends(): Backend[] {
    return [...this.backends.values()].map((b) => ({ ...b }));
  }

  readServiceStats(): ServiceStats[] {
    return [];
  }

  readDrops(): number[] {
    return [];
  }

  close(): void {}

  /** Per frontend "addr:port/proto": svcId, affinity and backend addresses in slot order. */
  view(): Record<string, { svcId: number; affinity: number; backends: string[]; ids: number[] }> {
    const out: Record<string, { svcId: number; affinity: number; backends: string[]; ids: number[] }> = {};
    for (const m of this.services.values()) {
      if (m.slot !== 0) continue;
      const ids: number[] = [];
      for (let i = 1; i <= m.count; i++) ids.push((this.services.get(slotKey({ ...m, slot: i })) as ServiceSlot).backendId);
      out[`${m.addr}:${m.port}/${m.proto}`] = {
        svcId: m.svcId,
        affinity: m.affinityTimeout,
        backends: ids.map((id) => {
          const b = this.backends.get(id) as Backend;
          return `${b.addr}:${b.port}`;
        }),
        ids,
      };
    }
    return out;
  }

  /** Whole-state rules that hold between syncs: no stray slots or backends,
   *  each backend owned by the one frontend whose service id it carries,
   *  service ids unique. */
  checkTidy(): void {
    const owners = new Map<number, number>();
    const svcIds = new Set<number>();
    for (const m of this.services.values()) {
      if (m.slot !== 0) continue;
      if (svcIds.has(m.svcId)) throw new Error(`service id ${m.svcId} used twice`);
      svcIds.add(m.svcId);
    }
    for (const s of this.services.values()) {
      const m = this.services.get(slotKey({ ...s, slot: 0 }));
      if (!m) throw new Error(`slot ${s.slot} of ${s.addr}:${s.port}/${s.proto} has no master`);
      if (s.slot > m.count) throw new Error(`slot ${s.slot} of ${s.addr}:${s.port}/${s.proto} beyond count ${m.count}`);
      if (s.slot === 0) continue;
      if (s.svcId !== m.svcId) throw new Error(`slot ${s.slot} of ${s.addr}:${s.port}/${s.proto} has service id ${s.svcId}, master ${m.svcId}`);
      const b = this.backends.get(s.backendId) as Backend;
      if (b.svcId !== m.svcId) throw new Error(`backend ${b.id} carries service id ${b.svcId}, used by ${m.svcId}`);
      const owner = owners.get(b.id);
      if (owner !== undefined && owner !== m.svcId) throw new Error(`backend ${b.id} shared`);
      owners.set(b.id, m.svcId);
    }
    for (const id of this.backends.keys()) if (!owners.has(id)) throw new Error(`backend ${id} is not used`);
  }
}
