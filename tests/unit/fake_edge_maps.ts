// An in-memory EdgeMaps that applies batches one element at a time, as the
// kernel does, and after every element checks what a packet could see: a
// frontend with backends has a whole Maglev table of existing backends of
// its own service, and one that checks source ranges has some. It records
// the operations.
import { EdgeBackend, EdgeFrontend, EdgeFrontendKey, EdgeMaps, SourceRange } from '../../lib/datapath/native';
import { edgeFrontendKey } from '../../lib/model/frontend';

export interface EdgeOp {
  op: keyof EdgeMaps;
  /** Frontend addresses, backend or service ids, or CIDRs. */
  items: (string | number)[];
}

const rangeKey = (r: SourceRange) => `${r.svcId}|${r.cidr}`;

export class FakeEdgeMaps implements EdgeMaps {
  readonly frontends = new Map<string, EdgeFrontend>();
  readonly backends = new Map<number, EdgeBackend>();
  readonly tables = new Map<number, number[]>();
  readonly ranges = new Map<string, SourceRange>();
  readonly ops: EdgeOp[] = [];

  constructor(private readonly tableSize: number) {}

  private each<T>(items: T[], apply: (item: T) => void): void {
    for (const item of items) {
      apply(item);
      this.checkPackets();
    }
  }

  checkPackets(): void {
    for (const f of this.frontends.values()) {
      const where = `${f.addr}:${f.port}/${f.proto}`;
      if (f.sourceRanges && ![...this.ranges.values()].some((r) => r.svcId === f.svcId)) throw new Error(`${where} checks source ranges, service ${f.svcId} has none`);
      if (f.count === 0) continue;
      const table = this.tables.get(f.svcId);
      if (!table) throw new Error(`${where} has ${f.count} backends but no table`);
      for (const id of table) {
        const b = this.backends.get(id);
        if (!b || b.svcId !== f.svcId) throw new Error(`${where}: table of service ${f.svcId} names backend ${id}, ${b ? `of service ${b.svcId}` : 'missing'}`);
      }
    }
  }

  updateFrontends(frontends: EdgeFrontend[]): void {
    this.ops.push({ op: 'updateFrontends', items: frontends.map((f) => f.addr) });
    this.each(frontends, (f) => this.frontends.set(edgeFrontendKey(f), { ...f }));
  }

  deleteFrontends(keys: EdgeFrontendKey[]): void {
    this.ops.push({ op: 'deleteFrontends', items: keys.map((k) => k.addr) });
    this.each(keys, (k) => this.frontends.delete(edgeFrontendKey(k)));
  }

  updateBackends(backends: EdgeBackend[]): void {
    this.ops.push({ op: 'updateBackends', items: backends.map((b) => b.id) });
    this.each(backends, (b) => this.backends.set(b.id, { ...b }));
  }

  deleteBackends(ids: number[]): void {
    this.ops.push({ op: 'deleteBackends', items: [...ids] });
    this.each(ids, (id) => this.backends.delete(id));
  }

  setMaglevTable(svcId: number, backendIds: number[]): void {
    if (backendIds.length !== this.tableSize) throw new Error(`a table has ${this.tableSize} entries, got ${backendIds.length}`);
    this.ops.push({ op: 'setMaglevTable', items: [svcId] });
    this.each([svcId], () => this.tables.set(svcId, [...backendIds]));
  }

  updateSourceRanges(ranges: SourceRange[]): void {
    this.ops.push({ op: 'updateSourceRanges', items: ranges.map((r) => r.cidr) });
    this.each(ranges, (r) => this.ranges.set(rangeKey(r), { ...r }));
  }

  deleteSourceRanges(ranges: SourceRange[]): void {
    this.ops.push({ op: 'deleteSourceRanges', items: ranges.map((r) => r.cidr) });
    this.each(ranges, (r) => this.ranges.delete(rangeKey(r)));
  }

  deleteMaglevTables(svcIds: number[]): void {
    this.ops.push({ op: 'deleteMaglevTables', items: [...svcIds] });
    this.each(svcIds, (id) => this.tables.delete(id));
  }

  dumpFrontends(): EdgeFrontend[] {
    return [...this.frontends.values()].map((f) => ({ ...f }));
  }

  dumpBackends(): EdgeBackend[] {
    return [...this.backends.values()].map((b) => ({ ...b }));
  }

  dumpSourceRanges(): SourceRange[] {
    return [...this.ranges.values()].map((r) => ({ ...r }));
  }

  dumpMaglevTableIds(): number[] {
    return [...this.tables.keys()];
  }

  /** Per frontend "addr:port/proto": its entry and its backends' "addr:port@node" in table order, once each. */
  view(): Record<string, { svcId: number; count: number; flags: string; backends: string[] }> {
    const out: Record<string, { svcId: number; count: number; flags: string; backends: string[] }> = {};
    for (const f of this.frontends.values()) {
      const ids = [...new Set(this.tables.get(f.svcId) ?? [])];
      const flags = `${f.mode} ${f.algorithm} ${f.noBackend}${f.sourceRanges ? ' ranges' : ''}${f.affinityTimeout ? ` affinity ${f.affinityTimeout}` : ''}`;
      out[`${f.addr}:${f.port}/${f.proto}${f.scope ? ` ${f.scope}` : ''}`] = {
        svcId: f.svcId,
        count: f.count,
        flags,
        backends: ids.map((id) => this.backends.get(id) as EdgeBackend).map((b) => `${b.addr}:${b.port}${b.nodeAddr ? `@${b.nodeAddr}` : ''}`).sort(),
      };
    }
    return out;
  }
}
