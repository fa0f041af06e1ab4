// The datapath plan: the map writes that turn what is programmed into what is
// desired, in make-before-break order, so that a lookup at any moment finds
// a master whose slots 1..count all exist and point at existing backends:
//   1. new backends
//   2. backend slots of new and changed frontends
//   3. masters (their count now covers only written slots)
//   4. slots beyond the new count of shrunk frontends
//   5. removed frontends: master first, then its slots
//   6. backends nothing points at any more
// Unchanged frontends cause no writes. Service ids are stable per frontend;
// backend ids belong to one frontend each, so changing one service never
// touches another's entries.
import { BackendAddr, backendKey, compareBackends, formatFrontend, Frontend, frontendKey } from '../../model/frontend';
import { IdAllocator } from '../ids';
import { Backend, SocketMaps, ServiceSlot, ServiceSlotKey, SocketTarget } from '../native';
import { Plan, planOf, SkippedFrontend, stepsOf } from '../plan';
import { BackendTable } from './backend_table';
import { countBackend } from './map_digest';
import { countRefs, planIndex } from './plan_index';
import { BackendWrites, slotOf, SlotWrites } from './plan_writes';
import { ProgrammedSocketFrontend, SocketState, svcIdOf } from './programmed';
import { assignSlots } from './slot_assignment';
import { forEachSlot, hasSlot, slotHolds } from './slot_layout';

const step = stepsOf<SocketMaps>();

/** lb_svc_key.slot and lb_svc_val.count are 16 bits wide. */
export const MAX_BACKENDS_PER_FRONTEND = 65535;

export interface SocketLimits {
  /** Capacity of the service map (masters and slots) and of the backend map. */
  lbMapMax: number;
}

export interface SocketPlan extends Plan<SocketState, SocketMaps> {
  /** Backends no UDP frontend uses any more: connected UDP sockets to them
   *  would keep sending there, so they are to be destroyed. */
  udpTargets: SocketTarget[];
}

interface Budget {
  svcIds: IdAllocator;
  backendIds: IdAllocator;
  /** Service map entries that may still be added. Entries of removed
   *  frontends are deleted last, so they count until the next sync. */
  serviceEntries: number;
  limits: SocketLimits;
}

interface Changes {
  backends: BackendWrites;
  slots: SlotWrites;
  masters: ServiceSlot[];
  surplus: ServiceSlotKey[];
}

const keyOf = (s: ServiceSlotKey): ServiceSlotKey => ({ addr: s.addr, port: s.port, proto: s.proto, slot: s.slot });

/** The keys of f's slots (> 0) in the service map. */
function slotKeys(f: ProgrammedSocketFrontend): ServiceSlotKey[] {
  const keys: ServiceSlotKey[] = [];
  forEachSlot(f, (slot) => keys.push({ addr: f.addr, port: f.port, proto: f.proto, slot }));
  return keys;
}

/** Takes the room f needs from the budget, or says why there is none. */
function reserveRoom(f: Frontend, prev: ProgrammedSocketFrontend | undefined, svcId: number | undefined, newBackends: number, budget: Budget): string | undefined {
  const max = budget.limits.lbMapMax;
  const n = f.backends.length;
  if (n > MAX_BACKENDS_PER_FRONTEND) return `${n} backends, more than the ${MAX_BACKENDS_PER_FRONTEND} a frontend can hold`;
  if (svcId === undefined && budget.svcIds.free < 1) return `no free service id (--bpf-lb-map-max ${max})`;
  let added = prev?.master ? 0 : 1;
  for (let slot = 1; slot <= n; slot++) if (!prev || !hasSlot(prev, slot)) added++;
  if (added > budget.serviceEntries) return `service map full (--bpf-lb-map-max ${max} entries)`;
  if (newBackends > budget.backendIds.free) return `backend map full (--bpf-lb-map-max ${max} entries)`;
  budget.serviceEntries -= added;
  return undefined;
}

/** Whether prev already serves f as it should. The common case by far, so
 *  it allocates one probe: f.backends is sorted and unique, and a consistent
 *  frontend's slots hold distinct backends, so finding each of the count
 *  slot backends in f.backends proves the sets equal. */
function isCurrent(f: Frontend, prev: ProgrammedSocketFrontend, svcId: number | undefined, backends: BackendTable): boolean {
  const m = prev.master;
  if (!prev.consistent || !m || m.svcId !== svcId || m.count !== f.backends.length || m.affinityTimeout !== f.affinityTimeout) return false;
  const probe: BackendAddr = { addr: '', port: 0 };
  for (const id of prev.slotBackends) {
    probe.addr = backends.addrOf(id) as string;
    probe.port = backends.portOf(id);
    if (!hasBackend(f.backends, probe)) return false;
  }
  return true;
}

function hasBackend(sorted: BackendAddr[], b: BackendAddr): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareBackends(sorted[mid], b);
    if (c === 0) return true;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** What a frontend keeps of its programmed form: the backends it owns keep
 *  their ids and, where the slot still exists, their slots. */
interface KeptLayout {
  /** f's backends that need an id, in f's order. */
  fresh: BackendAddr[];
  /** The backend id of each slot, given the ids of fresh. */
  slots(freshIds: number[]): number[];
}

function keptLayout(f: Frontend, prev: ProgrammedSocketFrontend, prevSvcId: number, state: SocketState): KeptLayout {
  const owned = new Map<string, number>();
  const current = new Map<number, string>();
  forEachSlot(prev, (slot, _svcId, backendId) => {
    const b = state.backends.get(backendId);
    if (!b || b.svcId !== prevSvcId) return;
    const key = backendKey(b);
    if (!owned.has(key)) owned.set(key, b.id);
    if (owned.get(key) === b.id) current.set(slot, key);
  });
  const keys = f.backends.map(backendKey);
  const freshAt = keys.flatMap((k, i) => (owned.has(k) ? [] : [i]));
  return {
    fresh: freshAt.map((i) => f.backends[i]),
    slots: (freshIds) => {
      const idOf = new Map(owned);
      freshAt.forEach((i, n) => idOf.set(keys[i], freshIds[n]));
      return assignSlots(keys, current).map((key) => idOf.get(key) as number);
    },
  };
}

/** Plans one desired frontend; returns its programmed form, or a reason it
 *  does not fit. f.backends is sorted and unique (model/backends.ts). */
function planFrontend(
  f: Frontend,
  prev: ProgrammedSocketFrontend | undefined,
  prevSvcId: number | undefined,
  state: SocketState,
  budget: Budget,
  changes: Changes,
): ProgrammedSocketFrontend | string {
  // A frontend new to its service id keeps nothing: its backends take ids and
  // slots in order, with no key or map per backend (a first sync plans 1M).
  const kept = prev && prevSvcId !== undefined ? keptLayout(f, prev, prevSvcId, state) : undefined;
  const fresh = kept ? kept.fresh : f.backends;
  const reason = reserveRoom(f, prev, prevSvcId, fresh.length, budget);
  if (reason) return reason;

  const svcId = prevSvcId ?? (budget.svcIds.allocate() as number);
  const freshIds = fresh.map((b) => {
    const id = budget.backendIds.allocate() as number;
    changes.backends.push(id, b.addr, b.port, svcId);
    return id;
  });
  const count = f.backends.length;
  const master = slotOf(f, 0, svcId, 0, count, f.affinityTimeout);
  const slotBackends = kept ? kept.slots(freshIds) : freshIds;
  const m = prev?.master;
  slotBackends.forEach((id, i) => {
    if (!prev || !slotHolds(prev, i + 1, svcId, id)) changes.slots.push(f, i + 1, svcId, id);
  });
  if (!m || m.svcId !== svcId || m.count !== count || m.affinityTimeout !== f.affinityTimeout) changes.masters.push(master);
  if (prev) for (const k of slotKeys(prev)) if (k.slot > count) changes.surplus.push(k);
  return { key: frontendKey(f), addr: f.addr, port: f.port, proto: f.proto, master, slotBackends, consistent: true };
}

/** Backends of the given frontends' UDP slots, by address. */
function udpBackends(frontends: Iterable<ProgrammedSocketFrontend>, backends: BackendTable): Map<string, SocketTarget> {
  const out = new Map<string, SocketTarget>();
  for (const f of frontends) {
    if (f.proto !== 'UDP') continue;
    forEachSlot(f, (_slot, _svcId, backendId) => {
      const b = backends.get(backendId);
      if (b) out.set(backendKey(b), { addr: b.addr, port: b.port });
    });
  }
  return out;
}

/** Addresses that left a UDP frontend (by their backends in the
 *  programmed state) and serve no UDP frontend of next any more. */
function udpTargets(left: Map<string, SocketTarget>, next: SocketState): SocketTarget[] {
  if (left.size === 0) return [];
  const remaining = udpBackends(next.frontends.values(), next.backends);
  return [...left].filter(([k]) => !remaining.has(k)).map(([, t]) => t);
}

/** The key of each desired frontend, kept while the model reuses it: an
 *  unchanged frontend of 10k then costs the plan no string and no garbage. */
const desiredKeys = new WeakMap<Frontend, string>();

function desiredKey(f: Frontend): string {
  let key = desiredKeys.get(f);
  if (key === undefined) desiredKeys.set(f, (key = frontendKey(f)));
  return key;
}

/** The frontends a plan walks, and what it makes of them. */
interface Walk {
  frontends: Map<string, ProgrammedSocketFrontend>;
  /** Frontends planned anew. */
  replanned: ProgrammedSocketFrontend[];
  /** Programmed frontends that are not in frontends any more as they were. */
  replaced: ProgrammedSocketFrontend[];
  skipped: SkippedFrontend[];
}

/** Plans f, programmed as prev (if at all), into walk. */
function walkFrontend(f: Frontend, key: string, prev: ProgrammedSocketFrontend | undefined, prevSvcId: number | undefined, state: SocketState, budget: Budget, changes: Changes, walk: Walk): void {
  const current = prev && prevSvcId !== undefined && (prev.source === f || isCurrent(f, prev, prevSvcId, state.backends));
  const planned = current ? prev : planFrontend(f, prev, prevSvcId, state, budget, changes);
  if (typeof planned === 'string') {
    walk.skipped.push({ frontend: f, reason: `${formatFrontend(f)} (Service ${f.serviceName}): ${planned}` });
    if (prev) walk.frontends.set(key, prev);
  } else {
    planned.source = f;
    walk.frontends.set(key, planned);
    if (planned !== prev) walk.replanned.push(planned);
  }
}

/** Every desired frontend, into a new map. */
function walkAll(state: SocketState, desired: Frontend[], budget: Budget, changes: Changes): Walk {
  const walk: Walk = { frontends: new Map(), replanned: [], replaced: [], skipped: [] };
  const claimedSvcIds = new Set<number>();
  const keyed = desired.map((f) => ({ f, key: desiredKey(f) }));
  // Programmed frontends first: an update never loses its room to a newcomer.
  const ordered = [...keyed.filter((k) => state.frontends.has(k.key)), ...keyed.filter((k) => !state.frontends.has(k.key))];
  for (const { f, key } of ordered) {
    const prev = state.frontends.get(key);
    const id = prev && svcIdOf(prev);
    // Only a state broken by hand gives two frontends one id; the first keeps it.
    const prevSvcId = id !== undefined && !claimedSvcIds.has(id) ? id : undefined;
    walkFrontend(f, key, prev, prevSvcId, state, budget, changes, walk);
    const kept = walk.frontends.get(key);
    const keptId = kept && svcIdOf(kept);
    if (keptId !== undefined) claimedSvcIds.add(keptId);
  }
  for (const f of state.frontends.values()) if (walk.frontends.get(f.key) !== f) walk.replaced.push(f);
  return walk;
}

/** The places where desired holds another object than the desired list
 *  state was planned from, when every frontend kept its key and place and
 *  all were programmed; undefined otherwise. */
function changedPlaces(state: SocketState, desired: Frontend[]): number[] | undefined {
  const last = state.planned;
  if (!last || last.length !== desired.length || !state.index) return undefined;
  const places: number[] = [];
  for (let i = 0; i < desired.length; i++) {
    if (desired[i] === last[i]) continue;
    const key = desiredKey(desired[i]);
    if (key !== desiredKey(last[i]) || !state.frontends.has(key)) return undefined;
    places.push(i);
  }
  return places;
}

/** The desired frontends at places, in state's own map: the others are
 *  programmed as they are, so a sync after a change to a few of 100k costs
 *  those few (a walk of all cost 0.13 s per sync, measured). */
function walkChanged(state: SocketState, desired: Frontend[], places: number[], budget: Budget, changes: Changes): Walk {
  const walk: Walk = { frontends: state.frontends, replanned: [], replaced: [], skipped: [] };
  for (const i of places) {
    const f = desired[i];
    const key = desiredKey(f);
    const prev = state.frontends.get(key) as ProgrammedSocketFrontend;
    walkFrontend(f, key, prev, svcIdOf(prev), state, budget, changes, walk);
    if (walk.frontends.get(key) !== prev) walk.replaced.push(prev);
  }
  return walk;
}

/** Plans the sync from state to desired. The plan takes state over: next
 *  shares its maps and index and updates them in place, so that an
 *  unchanged frontend costs nothing. */
export function planSocketSync(state: SocketState, desired: Frontend[], limits: SocketLimits): SocketPlan {
  const readBack = state.index === undefined;
  const index = state.index ?? planIndex(state, limits.lbMapMax);
  const budget: Budget = {
    svcIds: index.svcIds,
    backendIds: index.backendIds,
    serviceEntries: limits.lbMapMax - index.serviceEntries,
    limits,
  };
  const changes: Changes = { backends: new BackendWrites(), slots: new SlotWrites(), masters: [], surplus: [] };
  const places = changedPlaces(state, desired);
  const { frontends, replanned, replaced, skipped } = places ? walkChanged(state, desired, places, budget, changes) : walkAll(state, desired, budget, changes);

  const removed = replaced.filter((f) => !frontends.has(f.key));
  const removedMasters = removed.flatMap((f) => (f.master ? [keyOf(f.master)] : []));
  const removedSlots = removed.flatMap(slotKeys);
  const leftUdp = udpBackends(replaced.filter((f) => f.proto === 'UDP'), state.backends);

  // Ids are freed only now: what this plan deletes is still in the maps
  // while its steps run, so no entry it writes may reuse those ids.
  for (const f of replanned) countRefs(index, f, 1);
  const dropped = replaced.flatMap((f) => countRefs(index, f, -1));
  // State read from the maps may hold backends no frontend points at.
  const candidates = readBack ? [...state.backends.keys()].filter((id) => index.backendRefs.get(id) === 0) : dropped;
  const unused = [...new Set(candidates)].filter((id) => state.backends.has(id));
  const backends = state.backends;
  for (const b of changes.backends.values()) {
    backends.set(b);
    countBackend(index.backendsDigest, b, 1);
  }
  for (const id of unused) {
    countBackend(index.backendsDigest, backends.get(id) as Backend, -1);
    backends.delete(id);
    index.backendIds.release(id);
  }
  // The list itself, not a copy (100k entries at 100k services, per sync): the model makes a new one for every change.
  const next: SocketState = { frontends, backends, index, planned: skipped.length === 0 ? desired : undefined };

  const steps = [
    step('updateBackends', changes.backends.list()),
    step('updateServices', changes.slots.list()),
    step('updateServices', changes.masters),
    step('deleteServices', changes.surplus),
    step('deleteServices', removedMasters),
    step('deleteServices', removedSlots),
    step('deleteBackends', unused),
  ];
  const deletes = changes.surplus.length + removedMasters.length + removedSlots.length + unused.length;
  return { ...planOf(steps, next, skipped, deletes), udpTargets: udpTargets(leftUdp, next) };
}
