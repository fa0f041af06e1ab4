// The socket LB's reconciler: its maps read back per frontend
// (programmed.ts), its plans (plan.ts), and what a sync reports, the UDP
// backends that left among it.
import { backendKey, Frontend } from '../../model/frontend';
import { SocketMaps, SocketTarget } from '../native';
import { SkippedFrontend } from '../plan';
import { Reconciler } from '../reconciler';
import { SocketLimits, planSocketSync, SocketPlan } from './plan';
import { programmedSlots, SocketState, socketState } from './programmed';

export interface SocketSyncReport {
  frontends: number;
  backends: number;
  /** Map entries written or deleted. */
  writes: number;
  skipped: SkippedFrontend[];
  udpTargets: SocketTarget[];
}

export class SocketReconciler extends Reconciler<SocketState, Frontend, SocketMaps, SocketPlan, SocketSyncReport> {
  constructor(maps: SocketMaps, limits: SocketLimits) {
    super(maps, {
      read: (m) => socketState(m.dumpServices(), m.dumpBackends()),
      holds: (m, state) => m.holdsBackends([...state.backends.values()]) && m.holdsServices(programmedSlots(state)),
      plan: (state, desired) => planSocketSync(state, desired, limits),
      report: (plans) => {
        const { next, skipped } = plans[plans.length - 1];
        const udpTargets = new Map(plans.flatMap((p) => p.udpTargets.map((t) => [backendKey(t), t] as const)));
        return { frontends: next.frontends.size, backends: next.backends.size, writes: plans.reduce((n, p) => n + p.writes, 0), skipped, udpTargets: [...udpTargets.values()] };
      },
    });
  }
}
