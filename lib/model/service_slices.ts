// EndpointSlices belong to the service named by their
// kubernetes.io/service-name label, in their own namespace.
import { EndpointSlice } from './objects';
import { sortedBy } from './order';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** The "namespace/service" a slice belongs to; null: none. */
export function serviceKey(s: EndpointSlice): string | null {
  const svc = s.metadata.labels[SERVICE_NAME_LABEL];
  return svc === undefined ? null : `${s.metadata.namespace}/${svc}`;
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
  // Each service's few slices are sorted, not all of them.
  for (const [key, list] of out) if (list.length > 1) out.set(key, bySliceName(list));
  return out;
}

/** A service's slices in the order the model reads them. */
export function bySliceName(slices: EndpointSlice[]): EndpointSlice[] {
  return sortedBy(slices, (s) => s.metadata.name);
}
