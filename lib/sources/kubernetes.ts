// The Kubernetes source: Services, EndpointSlices, Nodes, this node's Pods,
// the Namespaces and the ServiceCIDRs from the API
// server, each listed and watched (kubernetes_watch.ts). Every object
// goes through the same decoders as the manifest source's, so an invalid one
// is reported the same way and keeps its previous version. The source says
// "synced" once every kind has been listed; until then nothing is programmed,
// and after that an unreachable API server changes nothing: the last known
// objects stay, and the agent converges when the server is back.
import { Logger } from '../log';
import { Node } from '../model/objects';
import { decodeDocument, KubeObject } from './decode_object';
import { Json } from './field_reader';
import { ApiStatusError, describeError, isUnreachable } from './kubernetes_errors';
import { KubeApi } from './kube_api';
import { Backoff, DEFAULT_BACKOFF, ResourceWatch, WatchTarget } from './kubernetes_watch';
import { handOn, KeyedHandlers } from './object_handlers';

export interface KubernetesTargets {
  services: WatchTarget;
  endpointSlices: WatchTarget;
  node: WatchTarget;
  pods: WatchTarget;
  namespaces: WatchTarget;
  serviceCIDRs: WatchTarget;
}

export interface KubernetesHandlers extends KeyedHandlers {
  /** This node's Node; undefined: there is none. */
  node(node: Node | undefined): void;
  /** Every Node, this one included, after any of them changed. */
  nodes(all: Node[]): void;
  /** Every kind has been listed once: the source holds a complete view. */
  synced(): void;
}

type Kind = keyof KubernetesTargets;

/** Kinds a node proxy can do without, by what needs them: kube-proxy's own
 *  role (system:node-proxier) does not grant pods and namespaces, and an API
 *  server before v1.33 serves no ServiceCIDRs. A refusal (403) or an
 *  unknown resource (404) counts as listed (none), said once. */
const WITHOUT_PODS = "the socket-LB bypass (kpr.io/socket-lb) and hostPorts need get, list and watch on pods and namespaces, as the chart's ClusterRole grants; they are off until then";
const OPTIONAL: ReadonlyMap<Kind, string> = new Map([
  ['pods', WITHOUT_PODS],
  ['namespaces', WITHOUT_PODS],
  ['serviceCIDRs', 'unserved addresses of the service CIDRs are not refused, only unserved ports of ClusterIPs (the chart\'s ClusterRole grants list and watch on servicecidrs)'],
]);

export class KubernetesSource {
  private readonly watches: ResourceWatch[] = [];
  /** Keys of the objects with a valid version, by kind: an invalid update
   *  keeps the last one (the handlers hold the objects themselves). */
  private readonly valid: Record<Kind, Set<string>> = { services: new Set(), endpointSlices: new Set(), node: new Set(), pods: new Set(), namespaces: new Set(), serviceCIDRs: new Set() };
  private readonly listed = new Set<Kind>();
  /** The Nodes by name: all of them go to handlers.nodes together. */
  private readonly nodes = new Map<string, Node>();
  private synced = false;
  private unreachable = false;

  constructor(
    api: KubeApi,
    /** This node's name: its Node also goes to handlers.node. */
    private readonly nodeName: string,
    targets: KubernetesTargets,
    private readonly handlers: KubernetesHandlers,
    private readonly log: Logger,
    backoff: Backoff = DEFAULT_BACKOFF,
  ) {
    for (const kind of Object.keys(targets) as Kind[]) {
      const target = targets[kind];
      this.watches.push(
        new ResourceWatch(
          api,
          target,
          {
            upsert: (key, obj) => this.upsert(kind, key, obj),
            removed: (key) => this.removed(kind, key),
            listed: () => this.onListed(kind),
            failed: (err, delayMs) => this.onFailed(kind, target.kind, err, delayMs),
          },
          backoff,
        ),
      );
    }
  }

  start(): void {
    for (const w of this.watches) w.start();
  }

  stop(): void {
    for (const w of this.watches) w.stop();
  }

  private upsert(kind: Kind, key: string, obj: Json): void {
    const outcome = decodeDocument(obj);
    if ('object' in outcome) {
      this.valid[kind].add(key);
      this.deliver(outcome.object, key);
    } else if ('error' in outcome) {
      const kept = this.valid[kind].has(key) ? 'keeping its previous version' : 'skipped';
      this.log.error(`kubernetes: ${outcome.error}; ${kept}`);
    }
  }

  private removed(kind: Kind, key: string): void {
    this.valid[kind].delete(key);
    if (kind === 'services') this.handlers.service(key, undefined);
    else if (kind === 'endpointSlices') this.handlers.endpointSlice(key, undefined);
    else if (kind === 'pods') this.handlers.pod(key, undefined);
    else if (kind === 'namespaces') this.handlers.namespace(key, undefined);
    else if (kind === 'serviceCIDRs') this.handlers.serviceCIDR(key, undefined);
    else this.nodeChanged(key, undefined);
  }

  private deliver(o: KubeObject, key: string): void {
    if (o.kind === 'Node') this.nodeChanged(key, o.object);
    else handOn(this.handlers, key, o, true);
  }

  private nodeChanged(name: string, node: Node | undefined): void {
    if (node) this.nodes.set(name, node);
    else this.nodes.delete(name);
    if (name === this.nodeName) this.handlers.node(node);
    this.handlers.nodes([...this.nodes.values()]);
  }

  private onListed(kind: Kind): void {
    if (this.unreachable) {
      this.unreachable = false;
      this.log.info('kubernetes: API server reachable again');
    }
    this.listed.add(kind);
    if (this.synced || this.listed.size < this.watches.length) return;
    this.synced = true;
    this.log.info(`kubernetes: informers synced (${this.valid.services.size} services, ${this.valid.endpointSlices.size} endpointslices)`);
    this.handlers.synced();
  }

  private readonly refused = new Set<Kind>();

  private onFailed(kind: Kind, name: string, err: unknown, delayMs: number): void {
    const without = OPTIONAL.get(kind);
    if (without && err instanceof ApiStatusError && (err.statusCode === 403 || err.statusCode === 404)) {
      if (!this.refused.has(kind)) {
        this.refused.add(kind);
        this.log.warn(`kubernetes: ${err.statusCode === 403 ? 'may not list' : 'the API server serves no'} ${kind} (${err.statusCode}): ${without}`);
        this.onListed(kind);
      }
      return;
    }
    this.onFailedWatch(name, err, delayMs);
  }

  private onFailedWatch(kind: string, err: unknown, delayMs: number): void {
    if (isUnreachable(err) && !this.unreachable) {
      this.unreachable = true;
      this.log.warn('kubernetes: API server unreachable; keeping the programmed state');
    }
    this.log.warn(`kubernetes: watch ${kind} failed: ${describeError(err)}; re-listing in ${delayMs}ms`);
  }
}
