// The socket LB's reconciler: its maps read back per frontend
// (programmed.ts), its plans (plan.ts), and what a sync reports, the UDP
// backends that left among it.
import { backendKey, Frontend } from '../../model/frontend';
import { MapDigests, SocketMaps, SocketTarget } from '../native';
import { SkippedFrontend } from '../plan';
import { Reconciler } from '../reconciler';
import { SocketLimits, planSocketSync, SocketPlan } from './plan';
import { backendsDigest, countFrontend, MapDigest } from './map_digest';
import { SocketState, socketState } from './programmed';

export interface SocketSyncReport {
  frontends: number;
  backends: number;
  /** Map entries written or deleted. */
  writes: number;
  skipped: SkippedFrontend[];
  udpTargets: SocketTarget[];
}

/** The digests of what the state's maps hold: kept by the plans, or
 *  counted afresh for state read from the maps and not planned since. */
export function digestsOf(state: SocketState): MapDigests {
  if (state.index) return { services: state.index.servicesDigest.text, backends: state.index.backendsDigest.text };
  const services = new MapDigest();
  for (const f of state.frontends.values()) countFrontend(services, f, 1);
  return { services: services.text, backends: backendsDigest(state.backends.values()) };
}

const sameDigests = (a: MapDigests, b: MapDigests) => a.services === b.services && a.backends === b.backends;

export class SocketReconciler extends Reconciler<SocketState, Frontend, SocketMaps, SocketPlan, SocketSyncReport> {
  constructor(maps: SocketMaps, limits: SocketLimits) {
    super(maps, {
      read: (m) => socketState(m.dumpServices(), m.dumpBackends()),
      holds: (m, state) => sameDigests(m.mapDigests(), digestsOf(state)),
      holdsLater: (m, state) => {
        const want = digestsOf(state);
        return m.mapDigestsLater().then((held) => sameDigests(held, want));
      },
      plan: (state, desired) => planSocketSync(state, desired, limits),
      report: (plans) => {
        const { next, skipped } = plans[plans.length - 1];
        const udpTargets = new Map(plans.flatMap((p) => p.udpTargets.map((t) => [backendKey(t), t] as const)));
        return { frontends: next.frontends.size, backends: next.backends.size, writes: plans.reduce((n, p) => n + p.writes, 0), skipped, udpTargets: [...udpTargets.values()] };
      },
    });
  }
}
