// EndpointSlices belong to the service named by their
// kubernetes.io/service-name label, in their own namespace.
import { EndpointSlice } from './objects';
import { sortedBy } from './order';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Each slice's "namespace/service", kept while the slice object lives: the
 *  grouping runs on every sync, and most slices are the same objects. */
const serviceKeys = new WeakMap<EndpointSlice, string | null>();

/** The "namespace/service" a slice belongs to; null: none. */
export function serviceKey(s: EndpointSlice): string | null {
  let key = serviceKeys.get(s);
  if (key === undefined) {
    const svc = s.metadata.labels[SERVICE_NAME_LABEL];
    key = svc === undefined ? null : `${s.metadata.namespace}/${svc}`;
    serviceKeys.set(s, key);
  }
  return key;
}

/** Slices by "namespace/service", each list ordered by slice name so that
 *  results never depend on the order objects arrived in. */
export function slicesByService(slices: EndpointSlice[]): Map<string, EndpointSlice[]> {
  const out = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const key = serviceKey(s);
    if (key === null) continue;
    const list = out.get(key);
    if (list) list.push(s);
    else out.set(key, [s]);
  }
  // Sorting each service's few slices, not all of them, keeps this cheap
  // enough to run on every sync.
  for (const [key, list] of out) if (list.length > 1) out.set(key, bySliceName(list));
  return out;
}

export function bySliceName(slices: EndpointSlice[]): EndpointSlice[] {
  return sortedBy(slices, (s) => s.metadata.name);
}
