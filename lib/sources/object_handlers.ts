// Which handler a source hands an object of each kind to. Nodes are each
// source's own business (this node's context, every node's addresses); the
// other kinds go by key, as they are or deleted, to the same per-kind
// methods whichever source read them.
import { EndpointSlice, Namespace, Pod, Service, ServiceCIDR } from '../model/objects';
import { KubeObject } from './decode_object';

/** Per kind, one object by key; undefined: deleted. */
export interface KeyedHandlers {
  service(key: string, svc: Service | undefined): void;
  endpointSlice(key: string, slice: EndpointSlice | undefined): void;
  /** One of this node's Pods. */
  pod(key: string, pod: Pod | undefined): void;
  namespace(key: string, ns: Namespace | undefined): void;
  serviceCIDR(key: string, cidr: ServiceCIDR | undefined): void;
}

/** An object that is not a Node. */
export type KeyedObject = Exclude<KubeObject, { kind: 'Node' }>;

/** o to its kind's handler under key: as it is, or (present false) deleted. */
export function handOn(h: KeyedHandlers, key: string, o: KeyedObject, present: boolean): void {
  if (o.kind === 'Service') h.service(key, present ? o.object : undefined);
  else if (o.kind === 'EndpointSlice') h.endpointSlice(key, present ? o.object : undefined);
  else if (o.kind === 'Pod') h.pod(key, present ? o.object : undefined);
  else if (o.kind === 'Namespace') h.namespace(key, present ? o.object : undefined);
  else h.serviceCIDR(key, present ? o.object : undefined);
}
