// EndpointSlices belong to the service named by their
// kubernetes.io/service-name label, in their own namespace.
import { EndpointSlice } from './objects';
import { sortedBy } from './order';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Slices by "namespace/service", each list ordered by slice name so that
 *  results never depend on the order objects arrived in. */
export function slicesByService(slices: EndpointSlice[]): Map<string, EndpointSlice[]> {
  const out = new Map<string, EndpointSlice[]>();
  for (const s of slices) {
    const svc = s.metadata.labels[SERVICE_NAME_LABEL];
    if (svc === undefined) continue;
    const key = `${s.metadata.namespace}/${svc}`;
    const list = out.get(key);
    if (list) list.push(s);
    else out.set(key, [s]);
  }
  // Sorting each service's few slices, not all of them, keeps this cheap
  // enough to run on every sync.
  for (const [key, list] of out) if (list.length > 1) out.set(key, sortedBy(list, (s) => s.metadata.name));
  return out;
}
