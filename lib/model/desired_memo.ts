// The desired state recomputed for what changed only. A sync follows a change
// to a few objects among thousands, and ProxyState hands out the very same
// objects while they are unchanged, so a service whose Service and
// EndpointSlice objects, node, node addresses and config are the same objects as last time
// has the same frontends as last time; those frontends are reused as they
// are, which also tells the datapath plan they need no look.
import { NO_NODE_ADDRESSES, NodeAddresses } from './backend_location';
import { DesiredState, desiredState, hostPortOwner, ServiceFrontends, serviceFrontends, winners } from './desired';
import { Frontend, frontendKey } from './frontend';
import { ModelConfig, NodeContext } from './node';
import { EndpointSlice, objectName, Pod, Service } from './objects';

const NO_PODS: readonly Pod[] = [];
import { compareStrings, sameItems } from './order';
import { slicesByService } from './service_slices';

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

/** Each Service's "namespace/name", kept while the object lives (as long as
 *  it is unchanged): computed on every sync for every service otherwise. */
const serviceNames = new WeakMap<Service, string>();

function serviceName(svc: Service): string {
  let name = serviceNames.get(svc);
  if (name === undefined) serviceNames.set(svc, (name = objectName(svc.metadata)));
  return name;
}

export class DesiredFrontends {
  private last?: Last;

  /** desiredFrontends(services, slices, node, config, nodes, pods), reusing
   *  the last result where it holds; pods: the same array while no pod's
   *  hostPorts changed. */
  compute(
    services: Iterable<Service>,
    slices: Iterable<EndpointSlice>,
    node: NodeContext,
    config: ModelConfig,
    nodes: NodeAddresses = NO_NODE_ADDRESSES,
    pods: readonly Pod[] = NO_PODS,
  ): DesiredState {
    const last = this.last?.node === node && this.last.config === config && this.last.nodes === nodes ? this.last : undefined;
    const samePods = last?.pods === pods;
    const hostPorts = samePods ? last.hostPorts : hostPortOwner(pods, node, config);
    const bySvc = slicesByService([...slices]);
    const entries = new Map<string, Entry>();
    const changed: { prev?: Entry; next: Entry }[] = [];
    for (const svc of services) {
      const key = serviceName(svc);
      const own = bySvc.get(key) ?? [];
      const prev = last?.entries.get(key);
      if (prev && prev.svc === svc && sameItems(prev.slices, own)) {
        entries.set(key, prev);
        continue;
      }
      const next = { svc, slices: own, result: serviceFrontends(svc, own, node, config, nodes) };
      entries.set(key, next);
      changed.push({ prev, next });
    }
    const sameServices = last !== undefined && entries.size === last.entries.size && changed.every((c) => c.prev);
    if (last && sameServices && samePods && changed.length === 0) return last.state;

    const order = sameServices ? last.order : [...entries.keys()].sort(compareStrings);
    const perService = [...order.map((k) => (entries.get(k) as Entry).result), hostPorts];
    // When no service's frontend keys changed, the winners and their order
    // are those of last time: the new frontends take the old ones' places.
    const inPlace = last && sameServices && samePods && last.state.conflicts.length === 0 && changed.every((c) => sameKeys(c.prev as Entry, c.next));
    const { sorted, conflicts } = inPlace ? { sorted: replaced(last.sorted, changed), conflicts: [] } : winners(perService);
    const state = desiredState(sorted, conflicts, perService, node, config);
    this.last = { node, config, nodes, entries, order, sorted, pods, hostPorts, state };
    return state;
  }
}

/** sorted with each changed service's frontends in place of its previous ones. */
function replaced(sorted: Frontend[], changed: { prev?: Entry; next: Entry }[]): Frontend[] {
  const replacement = new Map<Frontend, Frontend>();
  for (const { prev, next } of changed) prev?.result.frontends.forEach((f, i) => replacement.set(f, next.result.frontends[i]));
  return sorted.map((f) => replacement.get(f) ?? f);
}

function sameKeys(a: Entry, b: Entry): boolean {
  const fa = a.result.frontends;
  const fb = b.result.frontends;
  return fa.length === fb.length && fa.every((f, i) => frontendKey(f) === frontendKey(fb[i]));
}
