// What plans carry from one sync to the next, so that a sync costs what
// changed rather than everything programmed: the id allocators, and how many
// frontends hold each service id and how many slots point at each backend,
// which tells when an id is free again without walking every frontend.
import { IdCounts } from '../id_counts';
import { IdAllocator } from '../ids';
import { countBackend, countFrontend, MapDigest } from './map_digest';
import { entriesOf, PlanIndex, ProgrammedSocketFrontend, SocketState, svcIdOf } from './programmed';
import { forEachSlot } from './slot_layout';

/** The index of state read from the maps. */
export function planIndex(state: SocketState, max: number): PlanIndex {
  const frontends = [...state.frontends.values()];
  const index: PlanIndex = {
    svcIds: new IdAllocator(max, frontends.map(svcIdOf).filter((id): id is number => id !== undefined)),
    backendIds: new IdAllocator(max, state.backends.keys()),
    svcRefs: new IdCounts(max),
    backendRefs: new IdCounts(max),
    serviceEntries: 0,
    servicesDigest: new MapDigest(),
    backendsDigest: new MapDigest(),
  };
  for (const f of frontends) countRefs(index, f, 1);
  for (const b of state.backends.values()) countBackend(index.backendsDigest, b, 1);
  return index;
}

/** Adds (+1) or withdraws (-1) f's hold on its service id, backends and map entries
 *  (their count and digest);
 *  returns the backend ids f no longer holds and nothing else does. */
export function countRefs(index: PlanIndex, f: ProgrammedSocketFrontend, delta: 1 | -1): number[] {
  index.serviceEntries += delta * entriesOf(f);
  countFrontend(index.servicesDigest, f, delta);
  const svcId = svcIdOf(f);
  if (svcId !== undefined && index.svcRefs.add(svcId, delta) === 0) index.svcIds.release(svcId);
  const dropped: number[] = [];
  forEachSlot(f, (_slot, _svcId, backendId) => {
    if (index.backendRefs.add(backendId, delta) === 0) dropped.push(backendId);
  });
  return dropped;
}
