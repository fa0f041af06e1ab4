// One kind of object from the API server through client-node's informer
// (ListWatch), kept alive: client-node's informer re-lists by itself after a
// watch expires (410 Gone), but after any other failure it reports an error
// and stops. This starts a fresh informer then, after a backoff, which lists
// again; the list replaces what was known, so objects deleted during the
// outage are deleted here too. Nothing else is cleared on a failure: the
// last known objects stay, and so does what was programmed from them.
import { isJsonObject, Json } from './field_reader';

export interface ListResult {
  items: Json[];
  metadata?: { resourceVersion?: string };
}

export type ListFn = () => Promise<ListResult>;

/** client-node's ListWatch, as far as kpr uses it. */
export interface Informer {
  on(verb: 'add' | 'update' | 'delete', cb: (obj: Json) => void): void;
  on(verb: 'error', cb: (err: unknown) => void): void;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface WatchTarget {
  kind: string;
  /** Added to objects, whose list items carry neither. */
  apiVersion: string;
  /** Lists every object of the kind (selectors applied), as plain JSON. */
  list: ListFn;
  /** A new informer that lists with the given function, then watches. */
  informer: (list: ListFn) => Informer;
}

export interface WatchEvents {
  /** An object was added or changed (plain JSON with kind and apiVersion). */
  upsert(key: string, obj: Json): void;
  removed(key: string): void;
  /** A complete list was taken in: every object is known. */
  listed(count: number): void;
  /** The informer failed and a new one starts after delayMs. */
  failed(err: unknown, delayMs: number): void;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** An informer that ran this long before failing starts the backoff over. */
  resetAfterMs: number;
}

// A proxy must converge soon after its API server returns, so the backoff
// stays short: a failed connect is cheap for both sides. An informer that
// ran for a while before failing (an API server restart) starts over.
export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 5_000, resetAfterMs: 10_000 };

/** Thrown into an informer that was replaced while it listed, so that it
 *  stops instead of going on to watch. */
class Superseded extends Error {}

export function objectKey(obj: Json): string {
  const meta = isJsonObject(obj.metadata) ? obj.metadata : {};
  return meta.namespace ? `${meta.namespace}/${meta.name}` : String(meta.name);
}

function resourceVersion(obj: Json): string | undefined {
  const meta = isJsonObject(obj.metadata) ? obj.metadata : {};
  return typeof meta.resourceVersion === 'string' ? meta.resourceVersion : undefined;
}

export class ResourceWatch {
  /** Known objects by key, with their resourceVersion: the informer replays
   *  the list it was handed as events, which are not news. */
  private readonly known = new Map<string, string | undefined>();
  private informer?: Informer;
  private generation = 0;
  private startedAt = 0;
  private nextDelayMs: number;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly target: WatchTarget,
    private readonly events: WatchEvents,
    private readonly backoff: Backoff = DEFAULT_BACKOFF,
  ) {
    this.nextDelayMs = backoff.initialMs;
  }

  start(): void {
    this.stopped = false;
    this.launch();
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    clearTimeout(this.timer);
    void this.informer?.stop();
  }

  private launch(): void {
    const generation = ++this.generation;
    const live =
      <T>(f: (x: T) => void) =>
      (x: T) => {
        if (generation === this.generation) f(x);
      };
    this.startedAt = Date.now();
    const informer = this.target.informer(async () => {
      const list = await this.target.list();
      if (generation !== this.generation) throw new Superseded();
      this.replace(list.items);
      return list;
    });
    informer.on('add', live((o: Json) => this.upsert(o)));
    informer.on('update', live((o: Json) => this.upsert(o)));
    informer.on('delete', live((o: Json) => this.remove(objectKey(o))));
    informer.on('error', live((e: unknown) => this.failed(e)));
    this.informer = informer;
    informer.start().catch(live((e: unknown) => this.failed(e)));
  }

  private failed(err: unknown): void {
    if (this.stopped || err instanceof Superseded) return;
    this.generation++;
    void this.informer?.stop();
    const ranLong = Date.now() - this.startedAt >= this.backoff.resetAfterMs;
    const delay = ranLong ? this.backoff.initialMs : this.nextDelayMs;
    this.nextDelayMs = Math.min(delay * 2, this.backoff.maxMs);
    this.events.failed(err, delay);
    this.timer = setTimeout(() => this.launch(), delay);
  }

  private replace(items: Json[]): void {
    const keys = new Set(items.map(objectKey));
    for (const key of [...this.known.keys()]) if (!keys.has(key)) this.remove(key);
    for (const item of items) this.upsert(item);
    this.events.listed(items.length);
  }

  private upsert(obj: Json): void {
    const key = objectKey(obj);
    const version = resourceVersion(obj);
    if (version !== undefined && this.known.has(key) && this.known.get(key) === version) return;
    this.known.set(key, version);
    this.events.upsert(key, { ...obj, kind: this.target.kind, apiVersion: this.target.apiVersion });
  }

  private remove(key: string): void {
    if (this.known.delete(key)) this.events.removed(key);
  }
}
