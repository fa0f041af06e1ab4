import { ObjectChanges } from '../../lib/model/desired_memo';
import { EndpointSlice, objectName, Service } from '../../lib/model/objects';
import { ChangeTracker } from '../../lib/sync/change_tracker';

/** Turns complete object sets into the changes a sync hands the model, as
 *  the state's change trackers make them: what is missing is deleted. */
export class ObjectFeed {
  private readonly services = new ChangeTracker<Service>();
  private readonly slices = new ChangeTracker<EndpointSlice>();
  private serviceKeys: string[] = [];
  private sliceKeys: string[] = [];

  changes(services: Service[], slices: EndpointSlice[]): ObjectChanges {
    this.serviceKeys = replace(this.services, this.serviceKeys, services);
    this.sliceKeys = replace(this.slices, this.sliceKeys, slices);
    return { services: this.services.commit(), endpointSlices: this.slices.commit() };
  }
}

function replace<T extends Service | EndpointSlice>(tracker: ChangeTracker<T>, before: string[], objects: T[]): string[] {
  const keys = objects.map((o) => objectName(o.metadata));
  for (const key of before) if (!keys.includes(key)) tracker.update(key, undefined);
  objects.forEach((o, i) => tracker.update(keys[i], o));
  return keys;
}
