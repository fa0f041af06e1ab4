// The edge LB's plan: the map writes that turn what is programmed into the
// desired edge frontends, in make-before-break order, so that a packet at
// any moment finds a frontend whose Maglev table holds only existing
// backends of its service, and source ranges in place before the frontend
// says to check them:
//   1. new backends, and backends whose node moved
//   2. Maglev tables of services whose backend set changed (each swapped in whole)
//   3. new source ranges
//   4. frontend entries (count = backends in the table; 0: no backend)
//   5. frontends no longer served
//   6. source ranges no longer wanted
//   7. tables of services left without backends, or gone
//   8. backends no table points at any more
// One edge service (one service port in one family) has one service id, one
// Maglev table and its own backend ids, shared by its frontends (node ports,
// load balancer IPs, external IPs). Ids are stable across syncs; a service
// whose frontends are the very objects of the last sync causes no work, and
// one whose backend set did not change gets no new table. Ids that this
// plan frees are reused only by the next one: its deletions come last.
import { backendKey, edgeFrontendKey, ExternalFrontend, formatFrontend } from '../../model/frontend';
import { sameItems } from '../../model/order';
import { IdAllocator } from '../ids';
import { MaglevTable } from './maglev';
import { EdgeBackend, EdgeFrontend, EdgeFrontendKey, EdgeMaps, SourceRange } from '../native';
import { Plan, planOf, SkippedFrontend, stepsOf } from '../plan';
import { backendName, EdgeState, maglevKey, ProgrammedEdgeService, rangeEntries } from './programmed';

/** edge_fe_val.count is 16 bits wide. */
export const MAX_EDGE_BACKENDS = 65535;

export interface EdgeLimits {
  /** Capacity of kpr_edge_frontends; service ids are 1..frontendMax. */
  frontendMax: number;
  backendMax: number;
  sourceRangeMax: number;
}

export interface EdgeSettings {
  limits: EdgeLimits;
  /** --service-no-backend-response */
  noBackend: EdgeFrontend['noBackend'];
  /** The Maglev table of a backend set, as every node computes it (maglev.ts). */
  maglev: (names: string[]) => MaglevTable;
}

const step = stepsOf<EdgeMaps>();

export type EdgePlan = Plan<EdgeState, EdgeMaps>;

interface Budget {
  svcIds: IdAllocator;
  backendIds: IdAllocator;
  /** Entries that may still be added; what this plan deletes counts until the next. */
  frontends: number;
  ranges: number;
}

interface Changes {
  backends: EdgeBackend[];
  tables: { svcId: number; backendIds: number[] }[];
  ranges: SourceRange[];
  frontends: EdgeFrontend[];
  deleteRanges: SourceRange[];
  deleteTables: number[];
  deleteBackends: number[];
}

interface Context {
  settings: EdgeSettings;
  budget: Budget;
  changes: Changes;
  /** What kpr_edge_frontends holds now, by edgeFrontendKey. */
  programmed: Map<string, EdgeFrontend>;
}

function sameFrontend(a: EdgeFrontend, b: EdgeFrontend): boolean {
  return (
    a.svcId === b.svcId &&
    a.count === b.count &&
    a.affinityTimeout === b.affinityTimeout &&
    a.sourceRanges === b.sourceRanges &&
    a.mode === b.mode &&
    a.algorithm === b.algorithm &&
    a.noBackend === b.noBackend
  );
}

const keyOf = (f: EdgeFrontendKey): EdgeFrontendKey => (f.scope ? { addr: f.addr, port: f.port, proto: f.proto, scope: f.scope } : { addr: f.addr, port: f.port, proto: f.proto });

/** Plans one edge service; returns its programmed form, or why it does not fit. */
function planService(group: ExternalFrontend[], prev: ProgrammedEdgeService | undefined, ctx: Context): ProgrammedEdgeService | string {
  const { budget, changes, settings } = ctx;
  const { limits } = settings;
  // Every frontend of an edge service has the same backends (ExternalFrontend.edgeService).
  const desired = group[0].externalBackends;
  if (desired.length > MAX_EDGE_BACKENDS) return `${desired.length} backends, more than the ${MAX_EDGE_BACKENDS} a frontend can hold`;
  const owned = new Map<string, EdgeBackend>();
  for (const b of prev?.backends.values() ?? []) if (!owned.has(backendKey(b))) owned.set(backendKey(b), b);
  const fresh = desired.filter((b) => !owned.has(backendKey(b))).length;
  const ranges = new Set(group.flatMap((f) => f.sourceRanges));
  const newRanges = [...ranges].filter((r) => !prev?.ranges.has(r));
  const newFrontends = group.filter((f) => !ctx.programmed.has(edgeFrontendKey(f))).length;
  if (!prev && budget.svcIds.free < 1) return `no free service id (--bpf-lb-map-max ${limits.frontendMax})`;
  if (fresh > budget.backendIds.free) return `edge backend map full (--bpf-lb-map-max ${limits.backendMax} entries)`;
  if (newFrontends > budget.frontends) return `edge frontend map full (--bpf-lb-map-max ${limits.frontendMax} entries)`;
  if (newRanges.length > budget.ranges) return `source range map full (--bpf-lb-map-max ${limits.sourceRangeMax} entries)`;
  budget.frontends -= newFrontends;
  budget.ranges -= newRanges.length;

  const svcId = prev?.svcId ?? (budget.svcIds.allocate() as number);
  const next: ProgrammedEdgeService = { svcId, backends: new Map(), frontends: new Map(), ranges, tableExists: false, source: group };
  const idOf = new Map<string, number>();
  for (const b of desired) {
    const kept = owned.get(backendKey(b));
    const id = kept?.id ?? (budget.backendIds.allocate() as number);
    const entry: EdgeBackend = b.nodeAddr === undefined ? { id, addr: b.addr, port: b.port, svcId } : { id, addr: b.addr, port: b.port, svcId, nodeAddr: b.nodeAddr };
    if (!kept || kept.nodeAddr !== b.nodeAddr) changes.backends.push(entry);
    next.backends.set(id, entry);
    idOf.set(backendName(b), id);
  }
  for (const id of prev?.backends.keys() ?? []) if (!next.backends.has(id)) changes.deleteBackends.push(id);

  const names = [...idOf.keys()].sort();
  if (names.length > 0) {
    next.table = maglevKey(names);
    next.tableExists = true;
    if (next.table !== prev?.table || !prev.tableExists) {
      const t = settings.maglev(names);
      changes.tables.push({ svcId, backendIds: Array.from(t.table, (i) => idOf.get(t.backends[i]) as number) });
    }
  } else if (prev?.tableExists) {
    changes.deleteTables.push(svcId);
  }

  changes.ranges.push(...rangeEntries(svcId, newRanges));
  changes.deleteRanges.push(...rangeEntries(svcId, [...(prev?.ranges ?? [])].filter((r) => !ranges.has(r))));

  for (const f of group) {
    const entry: EdgeFrontend = {
      addr: f.addr,
      port: f.port,
      proto: f.proto,
      svcId,
      count: names.length,
      affinityTimeout: f.affinityTimeout,
      sourceRanges: f.sourceRanges.length > 0,
      mode: f.forwardingMode,
      algorithm: f.lbAlgorithm,
      noBackend: f.dropWithoutBackends ? 'drop' : settings.noBackend,
      ...(f.scope ? { scope: f.scope } : {}),
    };
    const key = edgeFrontendKey(f);
    const old = ctx.programmed.get(key);
    if (!old || !sameFrontend(old, entry)) changes.frontends.push(entry);
    next.frontends.set(key, entry);
  }
  return next;
}

/** The service a desired edge service continues: the one a plan gave it,
 *  else (state read from the maps) the one its first programmed frontend points at. */
function previous(key: string, group: ExternalFrontend[], state: EdgeState, ctx: Context, claimed: Set<number>): ProgrammedEdgeService | undefined {
  const byKey = state.ids.get(key);
  const candidates = byKey !== undefined ? [byKey] : group.map((f) => ctx.programmed.get(edgeFrontendKey(f))?.svcId);
  const id = candidates.find((c) => c !== undefined && !claimed.has(c) && state.services.has(c));
  return id === undefined ? undefined : state.services.get(id);
}

/** Plans the sync from state to desired (ordered by edgeFrontendKey). The plan
 *  takes state over: next carries on its id allocators. */
export function planEdgeSync(state: EdgeState, desired: ExternalFrontend[], settings: EdgeSettings): EdgePlan {
  const services = [...state.services.values()];
  const programmed = new Map<string, EdgeFrontend>();
  for (const s of services) for (const [k, f] of s.frontends) programmed.set(k, f);
  const { limits } = settings;
  const allocators = state.allocators ?? {
    svcIds: new IdAllocator(limits.frontendMax, state.services.keys()),
    backendIds: new IdAllocator(limits.backendMax, services.flatMap((s) => [...s.backends.keys()])),
  };
  const budget: Budget = {
    ...allocators,
    frontends: limits.frontendMax - programmed.size,
    ranges: limits.sourceRangeMax - services.reduce((n, s) => n + s.ranges.size, 0),
  };
  const changes: Changes = { backends: [], tables: [], ranges: [], frontends: [], deleteRanges: [], deleteTables: [], deleteBackends: [] };
  const ctx: Context = { settings, budget, changes, programmed };

  const groups = new Map<string, ExternalFrontend[]>();
  for (const f of desired) {
    const g = groups.get(f.edgeService);
    if (g) g.push(f);
    else groups.set(f.edgeService, [f]);
  }
  const claimed = new Set<number>();
  const matched = [...groups].map(([key, group]) => {
    const prev = previous(key, group, state, ctx, claimed);
    if (prev) claimed.add(prev.svcId);
    return { key, group, prev };
  });
  const next: EdgeState = { services: new Map(), ids: new Map(), allocators };
  const skipped: SkippedFrontend[] = [];
  // Programmed services first: an update never loses its room to a newcomer.
  for (const { key, group, prev } of [...matched.filter((m) => m.prev), ...matched.filter((m) => !m.prev)]) {
    const planned = prev && sameItems(prev.source, group) ? prev : planService(group, prev, ctx);
    if (typeof planned === 'string') {
      for (const f of group) skipped.push({ frontend: f, reason: `${formatFrontend(f)} (Service ${f.serviceName}): ${planned}` });
      if (prev) next.services.set(prev.svcId, prev);
      continue;
    }
    next.services.set(planned.svcId, planned);
    next.ids.set(key, planned.svcId);
  }

  const served = new Set<string>();
  for (const s of next.services.values()) for (const k of s.frontends.keys()) served.add(k);
  const deleteFrontends = [...programmed].filter(([k]) => !served.has(k)).map(([, f]) => keyOf(f));
  const gone = services.filter((s) => !next.services.has(s.svcId));
  for (const s of gone) {
    changes.deleteRanges.push(...rangeEntries(s.svcId, s.ranges));
    if (s.tableExists) changes.deleteTables.push(s.svcId);
    changes.deleteBackends.push(...s.backends.keys());
  }
  // Freed only now: what this plan deletes stays in the maps while its steps run.
  for (const s of gone) budget.svcIds.release(s.svcId);
  for (const id of changes.deleteBackends) budget.backendIds.release(id);

  const steps = [
    step('updateBackends', changes.backends),
    ...changes.tables.map((t) => step('setMaglevTable', t.svcId, t.backendIds)),
    step('updateSourceRanges', changes.ranges),
    step('updateFrontends', changes.frontends),
    step('deleteFrontends', deleteFrontends),
    step('deleteSourceRanges', changes.deleteRanges),
    step('deleteMaglevTables', changes.deleteTables),
    step('deleteBackends', changes.deleteBackends),
  ];
  const deletes = deleteFrontends.length + changes.deleteRanges.length + changes.deleteTables.length + changes.deleteBackends.length;
  return planOf(steps, next, skipped, deletes);
}
