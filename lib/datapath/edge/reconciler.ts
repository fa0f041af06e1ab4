// The edge LB's reconciler: its maps read back per edge service
// (programmed.ts), its plans (plan.ts), and what a sync reports.
import { ExternalFrontend } from '../../model/frontend';
import { EdgeMaps } from '../native';
import { SkippedFrontend } from '../plan';
import { Reconciler } from '../reconciler';
import { EdgePlan, EdgeSettings, planEdgeSync } from './plan';
import { EdgeState, readEdgeState } from './programmed';

export interface EdgeSyncReport {
  /** Edge services (service ports per family), frontends and backends programmed. */
  services: number;
  frontends: number;
  backends: number;
  /** Map entries written or deleted; a Maglev table counts as one. */
  writes: number;
  skipped: SkippedFrontend[];
}

/** The state the maps hold. Services keep the ids this reconciler gave them
 *  while the maps still have them, so that a service whose frontends were
 *  deleted behind its back gets them back unchanged. */
function adoptEdgeState(maps: EdgeMaps, last: EdgeState | undefined): EdgeState {
  const state = readEdgeState(maps);
  for (const [key, id] of last?.ids ?? []) if (state.services.has(id)) state.ids.set(key, id);
  return state;
}

export class EdgeReconciler extends Reconciler<EdgeState, ExternalFrontend, EdgeMaps, EdgePlan, EdgeSyncReport> {
  constructor(maps: EdgeMaps, settings: EdgeSettings) {
    super(maps, {
      read: adoptEdgeState,
      plan: (state, desired) => planEdgeSync(state, desired, settings),
      report: (plans) => {
        const { next, skipped } = plans[plans.length - 1];
        const services = [...next.services.values()];
        return {
          services: services.length,
          frontends: services.reduce((n, s) => n + s.frontends.size, 0),
          backends: services.reduce((n, s) => n + s.backends.size, 0),
          writes: plans.reduce((n, p) => n + p.writes, 0),
          skipped,
        };
      },
    });
  }
}
