// Which endpoints receive traffic, from their conditions (kube-proxy's rule).
// Unset conditions mean what kube-proxy reads them as (endpointslicecache.go):
// ready, serving (whatever ready says: nil is true), and not terminating. Ready endpoints are used; only when none is ready do
// endpoints that are still serving while terminating take traffic, so that a
// service being scaled down or rolled keeps answering until its last pod goes.
import { Endpoint } from './objects';

export interface Conditions {
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

export function endpointConditions(ep: Endpoint): Conditions {
  const ready = ep.conditions?.ready ?? true;
  return {
    ready,
    serving: ep.conditions?.serving ?? true,
    terminating: ep.conditions?.terminating ?? false,
  };
}

export function usableEndpoints<T extends { conditions: Conditions }>(eps: T[]): T[] {
  const ready = eps.filter((e) => e.conditions.ready);
  if (ready.length > 0) return ready;
  return eps.filter((e) => e.conditions.serving && e.conditions.terminating);
}
