// Everything a sync reads, kept up to date by the sources between syncs:
// Services and EndpointSlices in change trackers, this node's context (from
// its source, with its interfaces' addresses beside it), the other nodes'
// addresses (where the edge LB tunnels to their backends), and the times at
// which the EndpointSlice controller saw the changes still to be programmed
// (for kube-proxy's network programming latency), the addresses of this
// node's pods the socket LB leaves alone (from Pods and Namespaces), and the
// service CIDRs (from ServiceCIDRs).
import { isDeepStrictEqual } from 'util';
import { ProxyMetrics } from '../metrics/proxy_metrics';
import { NO_NODE_ADDRESSES, NodeAddresses } from '../model/backend_location';
import { ModelConfig, NodeContext, SourceNode } from '../model/node';
import { Change } from '../model/object_change';
import { EndpointSlice, Namespace, Pod, Service, ServiceCIDR } from '../model/objects';
import { socketLbBypass } from '../model/socket_lb_bypass';
import { ChangeTracker } from './change_tracker';

/** Set by the EndpointSlice controller: when the change that caused this
 *  version of the slice happened (RFC 3339). */
export const LAST_CHANGE_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

/** What changed since the last sync, for the sync to apply. */
export interface StateChanges {
  /** Anything the desired state depends on changed. */
  changed: boolean;
  services: Change<Service>[];
  endpointSlices: Change<EndpointSlice>[];
  /** Trigger times (ms since the epoch) of the EndpointSlice changes taken. */
  triggers: number[];
}

export class ProxyState {
  private readonly services = new ChangeTracker<Service>();
  private readonly endpointSlices = new ChangeTracker<EndpointSlice>();
  private nodeContext: NodeContext;
  private otherNodes: NodeAddresses = NO_NODE_ADDRESSES;
  private nodeChanged = false;
  private readonly pods = new Map<string, Pod>();
  private readonly namespaces = new Map<string, Namespace>();
  private bypass: string[] = [];
  private bypassChanged = false;
  private readonly serviceCIDRObjects = new Map<string, ServiceCIDR>();
  private cidrs: string[] = [];
  private cidrsChanged = false;
  /** The pods that publish hostPorts: a new array whenever one of them changes. */
  private publishing: readonly Pod[] = [];
  private publishingChanged = false;
  /** Pending trigger times by EndpointSlice key. */
  private readonly triggers = new Map<string, number[]>();
  /** Earlier trigger times describe changes made before this agent ran. */
  private readonly startedAt = Date.now();

  constructor(
    node: SourceNode,
    readonly config: ModelConfig,
    private readonly metrics: ProxyMetrics,
    /** Called whenever there is something new to sync. */
    private readonly onChange: () => void,
  ) {
    this.nodeContext = { ...node, interfaceAddresses: [] };
  }

  get node(): NodeContext {
    return this.nodeContext;
  }

  /** Every node's addresses by name (backend_location.ts); this node's entry is ignored. */
  get nodeAddresses(): NodeAddresses {
    return this.otherNodes;
  }

  /** One Service event; undefined: deleted. */
  service(key: string, svc: Service | undefined): void {
    this.metrics.serviceUpdate();
    if (this.services.update(key, svc)) this.onChange();
    this.reportPending();
  }

  /** One EndpointSlice event; undefined: deleted. */
  endpointSlice(key: string, slice: EndpointSlice | undefined): void {
    this.metrics.endpointSliceUpdate();
    const changed = this.endpointSlices.update(key, slice);
    const at = slice && triggerTime(slice);
    // A deletion's trigger time is that of the slice's last update, not of
    // the deletion, so it measures nothing.
    if (!changed || !slice) this.triggers.delete(key);
    else if (at !== undefined && at > this.startedAt) this.triggers.set(key, [...(this.triggers.get(key) ?? []), at]);
    if (changed) this.onChange();
    this.reportPending();
  }

  /** The addresses of this node's pods the socket LB leaves alone (sorted). */
  get socketBypass(): string[] {
    return this.bypass;
  }

  /** This node's pods that publish hostPorts (host_ports.ts). */
  get hostPortPods(): readonly Pod[] {
    return this.publishing;
  }

  /** One of this node's Pods; undefined: deleted. */
  pod(key: string, pod: Pod | undefined): void {
    const before = this.pods.get(key);
    if (pod) this.pods.set(key, pod);
    else this.pods.delete(key);
    if (before?.spec?.hostPorts || pod?.spec?.hostPorts) this.updatePublishing();
    this.updateBypass();
  }

  namespace(key: string, ns: Namespace | undefined): void {
    if (ns) this.namespaces.set(key, ns);
    else this.namespaces.delete(key);
    this.updateBypass();
  }

  serviceCIDR(key: string, cidr: ServiceCIDR | undefined): void {
    if (cidr) this.serviceCIDRObjects.set(key, cidr);
    else this.serviceCIDRObjects.delete(key);
    this.updateCidrs();
  }

  /** Every ServiceCIDR's CIDRs, sorted, each once. */
  get serviceCidrs(): string[] {
    return this.cidrs;
  }

  private updateCidrs(): void {
    const next = [...new Set([...this.serviceCIDRObjects.values()].flatMap((c) => c.cidrs))].sort();
    if (isDeepStrictEqual(next, this.cidrs)) return;
    this.cidrs = next;
    this.cidrsChanged = true;
    this.onChange();
  }

  private updatePublishing(): void {
    const next = [...this.pods.values()].filter((p) => p.spec?.hostPorts);
    if (next.length === this.publishing.length && next.every((p, i) => p === this.publishing[i])) return;
    this.publishing = next;
    this.publishingChanged = true;
    this.onChange();
  }

  private updateBypass(): void {
    const next = socketLbBypass(this.pods.values(), this.namespaces.values(), this.nodeContext.name);
    if (isDeepStrictEqual(next, this.bypass)) return;
    this.bypass = next;
    this.bypassChanged = true;
    this.onChange();
  }

  setNode(node: SourceNode): void {
    this.updateNode({ ...node, interfaceAddresses: this.nodeContext.interfaceAddresses });
  }

  /** The addresses of this node's interfaces, as a whole (sources/interface_addresses.ts). */
  setInterfaceAddresses(addresses: string[]): void {
    this.updateNode({ ...this.nodeContext, interfaceAddresses: addresses });
  }

  /** The node context is replaced, never changed in place: the model knows
   *  an unchanged node by its being the same object. */
  private updateNode(node: NodeContext): void {
    if (isDeepStrictEqual(node, this.nodeContext)) return;
    this.nodeContext = node;
    this.nodeChanged = true;
    this.onChange();
  }

  /** The addresses of all nodes, as a whole: a source hands over a new map
   *  whenever a node comes, goes or changes address. */
  setNodeAddresses(nodes: NodeAddresses): void {
    if (isDeepStrictEqual(nodes, this.otherNodes)) return;
    this.otherNodes = nodes;
    this.nodeChanged = true;
    this.onChange();
  }

  /** Commits what changed since the last call, for a sync to apply. */
  take(): StateChanges {
    const services = this.services.commit();
    const endpointSlices = this.endpointSlices.commit();
    const changed = services.length + endpointSlices.length > 0 || this.nodeChanged || this.bypassChanged || this.publishingChanged || this.cidrsChanged;
    this.nodeChanged = false;
    this.bypassChanged = false;
    this.cidrsChanged = false;
    this.publishingChanged = false;
    const triggers = [...this.triggers.values()].flat();
    this.triggers.clear();
    this.reportPending();
    return { changed, services, endpointSlices, triggers };
  }

  private reportPending(): void {
    this.metrics.pending(this.services.pendingCount, this.endpointSlices.pendingCount);
  }
}

function triggerTime(slice: EndpointSlice): number | undefined {
  const value = slice.metadata.annotations?.[LAST_CHANGE_TRIGGER_TIME];
  const ms = value === undefined ? NaN : Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
