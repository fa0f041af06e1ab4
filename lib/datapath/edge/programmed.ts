// What the edge LB's maps hold, grouped per edge service (one service port
// in one family: its frontends share a service id, backends, a Maglev table
// and source ranges). Read back from the pinned maps this is how an agent
// adopts a previous agent's state; after each sync the plan's result stands
// in for a fresh read.
import { edgeFrontendKey, ExternalFrontend } from '../../model/frontend';
import { canonicalAddr, formatAddrPort } from '../../model/ip_address';
import { IdAllocator } from '../ids';
import { EdgeBackend, EdgeFrontend, EdgeMaps, SourceRange } from '../native';

export interface ProgrammedEdgeService {
  svcId: number;
  backends: Map<number, EdgeBackend>;
  /** Entries of kpr_edge_frontends by edgeFrontendKey. */
  frontends: Map<string, EdgeFrontend>;
  /** Canonical CIDRs. */
  ranges: Set<string>;
  /** kpr_edge_maglev has a table for svcId. */
  tableExists: boolean;
  /** The backend names the table was built from (maglevKey); undefined
   *  when unknown, which makes the next plan build it again. */
  table?: string;
  /** The desired frontends a plan last found this service serving: the
   *  model hands out the same objects while nothing changed. */
  source?: ExternalFrontend[];
}

export interface EdgeState {
  services: Map<number, ProgrammedEdgeService>;
  /** Edge service (ExternalFrontend.edgeService) -> service id, as plans
   *  assigned them; empty for state read from the maps. */
  ids: Map<string, number>;
  /** Kept by plans from one sync to the next; missing for state read from
   *  the maps, which the next plan allocates from in full. */
  allocators?: { svcIds: IdAllocator; backendIds: IdAllocator };
}

/** A backend's name in its Maglev table: canonical "addr:port", the bytes
 *  every node hashes (cli/maglev_backends.ts). */
export function backendName(b: { addr: string; port: number }): string {
  return formatAddrPort(b.addr, b.port);
}

/** The names a Maglev table hashes, sorted, joined: equal keys, equal tables. */
export function maglevKey(names: string[]): string {
  return names.join(' ');
}

function service(services: Map<number, ProgrammedEdgeService>, svcId: number): ProgrammedEdgeService {
  let s = services.get(svcId);
  if (!s) {
    s = { svcId, backends: new Map(), frontends: new Map(), ranges: new Set(), tableExists: false };
    services.set(svcId, s);
  }
  return s;
}

/** The state the maps hold. A table is taken to match its service's
 *  backends only when every frontend counts exactly those backends: an
 *  agent stopped between writing backends and its frontends left a count
 *  that does not, and its table is then built again. */
export function readEdgeState(maps: Pick<EdgeMaps, 'dumpFrontends' | 'dumpBackends' | 'dumpSourceRanges' | 'dumpMaglevTableIds'>): EdgeState {
  const services = new Map<number, ProgrammedEdgeService>();
  for (const f of maps.dumpFrontends()) {
    const fe = { ...f, addr: canonicalAddr(f.addr) };
    service(services, f.svcId).frontends.set(edgeFrontendKey(fe), fe);
  }
  for (const b of maps.dumpBackends()) {
    const nodeAddr = b.nodeAddr === undefined ? {} : { nodeAddr: canonicalAddr(b.nodeAddr) };
    service(services, b.svcId).backends.set(b.id, { id: b.id, addr: canonicalAddr(b.addr), port: b.port, svcId: b.svcId, ...nodeAddr });
  }
  for (const r of maps.dumpSourceRanges()) service(services, r.svcId).ranges.add(r.cidr);
  for (const id of maps.dumpMaglevTableIds()) service(services, id).tableExists = true;
  for (const s of services.values()) {
    const distinct = [...new Set([...s.backends.values()].map(backendName))].sort();
    const counted = s.frontends.size > 0 && [...s.frontends.values()].every((f) => f.count === distinct.length);
    if (s.tableExists && counted && distinct.length === s.backends.size) s.table = maglevKey(distinct);
  }
  return { services, ids: new Map() };
}

/** Every range of a service as map entries. */
export function rangeEntries(svcId: number, cidrs: Iterable<string>): SourceRange[] {
  return [...cidrs].map((cidr) => ({ svcId, cidr }));
}
