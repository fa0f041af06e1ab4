// Which definition of each object the manifests serve, kept up to date one
// file at a time. An object defined in several files comes from the first
// file by name, so the result never depends on event order; Services and
// EndpointSlices another proxy serves (or headless ones) are not served.
//
// A change is handed on as the objects whose outcome changed, not as the
// whole set: at 100k services a complete set per edited file cost the source
// and the proxy state about half a second per change (measured), to find
// the one object that differed.
import { KubeObject } from './decode_object';
import { proxiedHere } from './kubernetes_filters';

/** One object whose served definition changed; was or now is absent when
 *  the object was not served before or is not served now. */
export interface ManifestChange {
  identity: string;
  was?: KubeObject;
  now?: KubeObject;
}

export class ManifestMerge {
  private readonly files = new Map<string, ReadonlyMap<string, KubeObject>>();
  /** The files that define each object, sorted by name. */
  private readonly definedIn = new Map<string, string[]>();
  /** Objects defined in more than one file. */
  private readonly duplicated = new Set<string>();
  /** Objects touched since the last take(), with the definition that
   *  counted for them before (served or not). */
  private readonly touched = new Map<string, KubeObject | undefined>();
  private unclaimed = 0;

  /** proxyName: --service-proxy-name. */
  constructor(private readonly proxyName?: string) {}

  /** A file's objects by identity, read anew; undefined: the file is gone. */
  setFile(name: string, objects: ReadonlyMap<string, KubeObject> | undefined): void {
    const before = this.files.get(name);
    for (const id of before?.keys() ?? []) this.touch(id);
    for (const id of objects?.keys() ?? []) this.touch(id);
    for (const id of before?.keys() ?? []) if (!objects?.has(id)) this.undefine(id, name);
    for (const id of objects?.keys() ?? []) if (!before?.has(id)) this.define(id, name);
    if (objects) this.files.set(name, objects);
    else this.files.delete(name);
  }

  /** What changed for the listener since the last call. */
  take(): ManifestChange[] {
    const changes: ManifestChange[] = [];
    for (const [identity, before] of this.touched) {
      const after = this.first(identity);
      const was = this.claimed(before) ? before : undefined;
      const now = this.claimed(after) ? after : undefined;
      this.unclaimed += Number(now !== after) - Number(was !== before);
      if (now !== was) changes.push({ identity, was, now });
    }
    this.touched.clear();
    return changes;
  }

  /** Services and EndpointSlices defined but not served. */
  get unclaimedCount(): number {
    return this.unclaimed;
  }

  /** One line per object defined in more than one file, by identity. */
  duplicates(): string[] {
    return [...this.duplicated].sort().flatMap((id) => {
      const [used, ...others] = this.definedIn.get(id) as string[];
      return others.map((file) => `${id} is defined in ${used} and ${file}; using ${used}`);
    });
  }

  private touch(id: string): void {
    if (!this.touched.has(id)) this.touched.set(id, this.first(id));
  }

  /** The definition that counts: the first file's. */
  private first(id: string): KubeObject | undefined {
    const file = this.definedIn.get(id)?.[0];
    return file === undefined ? undefined : this.files.get(file)?.get(id);
  }

  private claimed(o: KubeObject | undefined): boolean {
    return o === undefined || (o.kind !== 'Service' && o.kind !== 'EndpointSlice') || proxiedHere(o.object.metadata.labels, this.proxyName);
  }

  private define(id: string, file: string): void {
    const files = this.definedIn.get(id);
    if (!files) {
      this.definedIn.set(id, [file]);
      return;
    }
    files.push(file);
    files.sort();
    this.duplicated.add(id);
  }

  private undefine(id: string, file: string): void {
    const files = (this.definedIn.get(id) as string[]).filter((f) => f !== file);
    if (files.length === 0) this.definedIn.delete(id);
    else this.definedIn.set(id, files);
    if (files.length < 2) this.duplicated.delete(id);
  }
}
