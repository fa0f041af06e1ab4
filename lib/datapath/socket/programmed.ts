// What the maps hold, grouped per frontend. Read back from the pinned maps
// this is how an agent adopts the state a previous agent left (no flush), and
// after each sync the plan's result stands in for a fresh read.
import { Frontend, frontendKey } from '../../model/frontend';
import { canonicalAddr } from '../../model/ip_address';
import { Protocol } from '../../model/protocol';
import { Backend, ServiceSlot } from '../native';
import { IdCounts } from '../id_counts';
import { IdAllocator } from '../ids';
import { BackendTable } from './backend_table';
import { MapDigest } from './map_digest';
import { keepSlot, slotBackend, SlotLayout } from './slot_layout';

export interface ProgrammedSocketFrontend extends SlotLayout {
  key: string;
  addr: string;
  port: number;
  proto: Protocol;
  /** Master and slots agree: slots are exactly 1..count, each holding a
   *  distinct existing backend of this frontend's service id. Always true
   *  for what a plan wrote; read-back state may say otherwise after a crash
   *  or a hand edit. */
  consistent: boolean;
  /** The desired frontend a plan last found this one serving. The model
   *  hands out the same object while nothing about it changed, so seeing it
   *  again spares comparing the backends. */
  source?: Frontend;
}

/** What plans carry from one sync to the next (plan_index.ts). */
export interface PlanIndex {
  svcIds: IdAllocator;
  backendIds: IdAllocator;
  svcRefs: IdCounts;
  backendRefs: IdCounts;
  /** Service map entries (masters and slots) of the frontends counted. */
  serviceEntries: number;
  /** What kpr_services and kpr_backends hold when they hold the state
   *  (map_digest.ts): kept as the counts are, so a full sync's check costs
   *  the agent nothing. */
  servicesDigest: MapDigest;
  backendsDigest: MapDigest;
}

export interface SocketState {
  frontends: Map<string, ProgrammedSocketFrontend>;
  backends: BackendTable;
  /** Kept by plans from one sync to the next; missing for state read from
   *  the maps, which the next plan indexes in full. */
  index?: PlanIndex;
  /** The desired frontends the plan that made this state had, when it
   *  programmed every one: the next plan looks only where its own differ.
   *  The caller's list, kept as it is: a list is never changed once planned. */
  planned?: readonly Frontend[];
}

export function socketState(slots: ServiceSlot[], backends: Backend[]): SocketState {
  const frontends = new Map<string, ProgrammedSocketFrontend>();
  // A frontend's slots are kept once its master is known: the dump's order is the hash's.
  const slotsRead = new Map<ProgrammedSocketFrontend, ServiceSlot[]>();
  for (const d of slots) {
    // Literal objects of one shape: spreading 200k entries costs far more.
    const s: ServiceSlot = {
      addr: canonicalAddr(d.addr),
      port: d.port,
      proto: d.proto,
      slot: d.slot,
      svcId: d.svcId,
      backendId: d.backendId,
      count: d.count,
      affinityTimeout: d.affinityTimeout,
    };
    const key = frontendKey(s);
    let f = frontends.get(key);
    if (!f) {
      f = { key, addr: s.addr, port: s.port, proto: s.proto, slotBackends: [], consistent: false };
      frontends.set(key, f);
      slotsRead.set(f, []);
    }
    if (s.slot === 0) f.master = s;
    else slotsRead.get(f)?.push(s);
  }
  for (const [f, read] of slotsRead) for (const s of read) keepSlot(f, s);
  const byId = new BackendTable(backends.map((b) => ({ id: b.id, addr: canonicalAddr(b.addr), port: b.port, svcId: b.svcId })));
  for (const f of frontends.values()) f.consistent = isConsistent(f, byId);
  return { frontends, backends: byId };
}

function isConsistent(f: ProgrammedSocketFrontend, backends: BackendTable): boolean {
  const m = f.master;
  if (!m || f.oddSlots || f.slotBackends.length !== m.count) return false;
  const seen = new Set<number>();
  for (const id of f.slotBackends) {
    if (backends.svcIdOf(id) !== m.svcId || seen.has(id)) return false;
    seen.add(id);
  }
  return true;
}

/** The frontend's service id; a frontend without a master still has it in its slots. */
export function svcIdOf(f: ProgrammedSocketFrontend): number | undefined {
  return f.master?.svcId ?? f.oddSlots?.values().next().value?.svcId;
}

/** Map entries (master and slots) the frontend occupies. */
export function entriesOf(f: ProgrammedSocketFrontend): number {
  let n = (f.master ? 1 : 0) + (f.oddSlots?.size ?? 0);
  for (const id of f.slotBackends) if (id !== 0) n++;
  return n;
}

/** The active backends (slots 1..count) of a frontend that resolve to a backend entry, in slot order. */
export function activeBackends(f: ProgrammedSocketFrontend, backends: BackendTable): Backend[] {
  const out: Backend[] = [];
  for (let slot = 1; slot <= (f.master?.count ?? 0); slot++) {
    const b = backends.get(slotBackend(f, slot) ?? 0);
    if (b) out.push(b);
  }
  return out;
}
