// The desired state recomputed for what changed only. A sync follows a change
// to a few objects among thousands: the sync hands over the changed Services
// and EndpointSlices, and only the services they belong to are looked at
// again (at 100k services, walking every one per sync cost 0.15 s, measured).
// A service whose Service and EndpointSlice objects, node, node addresses
// and config are the same objects as last time has the same frontends as
// last time; those frontends are reused as they are, which also tells the
// datapath plan they need no look.
import { NO_NODE_ADDRESSES, NodeAddresses } from './backend_location';
import { DesiredState, desiredState, hostPortOwner, patchedState, ServiceFrontends, serviceFrontends, winners } from './desired';
import { Frontend, frontendKey } from './frontend';
import { ModelConfig, NodeContext } from './node';
import { Change } from './object_change';
import { EndpointSlice, objectName, Pod, Service } from './objects';
import { compareStrings, sameItems } from './order';
import { bySliceName, serviceKey } from './service_slices';

const NO_PODS: readonly Pod[] = [];

/** The objects that changed since the last compute. */
export interface ObjectChanges {
  services: Change<Service>[];
  endpointSlices: Change<EndpointSlice>[];
}

interface Entry {
  svc: Service;
  slices: EndpointSlice[];
  result: ServiceFrontends;
}

interface Last {
  node: NodeContext;
  config: ModelConfig;
  nodes: NodeAddresses;
  entries: Map<string, Entry>;
  /** Service keys in name order. */
  order: string[];
  /** The frontends that won, ordered by frontendKey (before the views). */
  sorted: Frontend[];
  pods: readonly Pod[];
  hostPorts: ServiceFrontends;
  state: DesiredState;
}

export class DesiredFrontends {
  private readonly services = new Map<string, Service>();
  /** Each service's slices, ordered by slice name; a new array when one changes. */
  private readonly slices = new Map<string, EndpointSlice[]>();
  private last?: Last;

  /** desiredFrontends() of every object handed over so far, reusing the
   *  last result where it holds; pods: the same array while no pod's
   *  hostPorts changed. */
  compute(
    changes: ObjectChanges,
    node: NodeContext,
    config: ModelConfig,
    nodes: NodeAddresses = NO_NODE_ADDRESSES,
    pods: readonly Pod[] = NO_PODS,
  ): DesiredState {
    const dirty = this.take(changes);
    const last = this.last?.node === node && this.last.config === config && this.last.nodes === nodes ? this.last : undefined;
    const samePods = last?.pods === pods;
    const hostPorts = samePods ? last.hostPorts : hostPortOwner(pods, node, config);
    // The entries are updated in place: a sync pays for the services it looks at.
    const entries = last?.entries ?? new Map<string, Entry>();
    const changed: { prev?: Entry; next: Entry }[] = [];
    let removed = false;
    for (const key of last ? dirty : this.services.keys()) {
      const svc = this.services.get(key);
      const prev = entries.get(key);
      if (!svc) {
        if (entries.delete(key)) removed = true;
        continue;
      }
      const own = this.slices.get(key) ?? [];
      if (prev && prev.svc === svc && sameItems(prev.slices, own)) continue;
      const next = { svc, slices: own, result: serviceFrontends(svc, own, node, config, nodes) };
      entries.set(key, next);
      changed.push({ prev, next });
    }
    const sameServices = last !== undefined && !removed && changed.every((c) => c.prev);
    if (last && sameServices && samePods && changed.length === 0) return last.state;

    const order = sameServices ? last.order : [...entries.keys()].sort(compareStrings);
    const perService = resultsOf(order, entries, hostPorts);
    // When no service's frontend keys changed, the winners and their order
    // are those of last time: the new frontends take the old ones' places.
    const inPlace = last && sameServices && samePods && last.state.conflicts.length === 0 && changed.every((c) => sameKeys(c.prev as Entry, c.next));
    let state: DesiredState;
    let sorted: Frontend[];
    if (inPlace) {
      sorted = replaced(last.sorted, changed);
      state = patchedState(last.state, last.sorted, sorted, changed.map((c) => ({ prev: (c.prev as Entry).result, next: c.next.result })), perService, node, config);
    } else {
      const won = winners([...perService]);
      sorted = won.sorted;
      state = desiredState(sorted, won.conflicts, perService, node, config);
    }
    this.last = { node, config, nodes, entries, order, sorted, pods, hostPorts, state };
    return state;
  }

  /** Takes the changes in; returns the names of the services they touch. */
  private take(changes: ObjectChanges): Set<string> {
    const dirty = new Set<string>();
    for (const { was, now } of changes.services) {
      const name = objectName(((now ?? was) as Service).metadata);
      if (now) this.services.set(name, now);
      else this.services.delete(name);
      dirty.add(name);
    }
    for (const { was, now } of changes.endpointSlices) {
      const from = was && serviceKey(was);
      if (from) {
        const rest = (this.slices.get(from) ?? []).filter((s) => s !== was);
        if (rest.length > 0) this.slices.set(from, rest);
        else this.slices.delete(from);
        dirty.add(from);
      }
      const to = now && serviceKey(now);
      if (to) {
        this.slices.set(to, bySliceName([...(this.slices.get(to) ?? []), now as EndpointSlice]));
        dirty.add(to);
      }
    }
    return dirty;
  }
}

/** Each service's frontends in name order, then the hostPorts', to walk as
 *  often as needed rather than a list made per sync: an array of 100k goes
 *  to V8's large object space, which only a full collection frees. */
function resultsOf(order: string[], entries: Map<string, Entry>, hostPorts: ServiceFrontends): Iterable<ServiceFrontends> {
  return {
    *[Symbol.iterator]() {
      for (const k of order) yield (entries.get(k) as Entry).result;
      yield hostPorts;
    },
  };
}

/** sorted with each changed service's frontends in place of its previous ones. */
function replaced(sorted: Frontend[], changed: { prev?: Entry; next: Entry }[]): Frontend[] {
  const replacement = new Map<Frontend, Frontend>();
  for (const { prev, next } of changed) prev?.result.frontends.forEach((f, i) => replacement.set(f, next.result.frontends[i]));
  return sorted.map((f) => replacement.get(f) ?? f);
}

/** The same frontend keys in the same order, each of the same kind: only
 *  then do the winners keep their places and the state its layout. */
function sameKeys(a: Entry, b: Entry): boolean {
  const fa = a.result.frontends;
  const fb = b.result.frontends;
  return fa.length === fb.length && fa.every((f, i) => f.kind === fb[i].kind && frontendKey(f) === frontendKey(fb[i]));
}
