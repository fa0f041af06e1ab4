// The socket LB's reconciler: its maps read back per frontend
// (programmed.ts), its plans (plan.ts), and what a sync reports, the UDP
// backends that left among it.
import { backendKey, Frontend } from '../../model/frontend';
import { DatapathMaps, SocketTarget } from '../native';
import { SkippedFrontend } from '../plan';
import { Reconciler } from '../reconciler';
import { PlanLimits, planSync, SocketPlan } from './plan';
import { ProgrammedState, programmedState } from './programmed';

export interface SyncReport {
  frontends: number;
  backends: number;
  /** Map entries written or deleted. */
  writes: number;
  skipped: SkippedFrontend[];
  udpTargets: SocketTarget[];
}

export class SocketReconciler extends Reconciler<ProgrammedState, Frontend, DatapathMaps, SocketPlan, SyncReport> {
  constructor(maps: DatapathMaps, limits: PlanLimits) {
    super(maps, {
      read: (m) => programmedState(m.dumpServices(), m.dumpBackends()),
      plan: (state, desired) => planSync(state, desired, limits),
      report: (plans) => {
        const { next, skipped } = plans[plans.length - 1];
        const udpTargets = new Map(plans.flatMap((p) => p.udpTargets.map((t) => [backendKey(t), t] as const)));
        return { frontends: next.frontends.size, backends: next.backends.size, writes: plans.reduce((n, p) => n + p.writes, 0), skipped, udpTargets: [...udpTargets.values()] };
      },
    });
  }
}
