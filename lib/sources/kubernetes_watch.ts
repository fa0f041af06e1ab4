// One kind of object from the API server, kept up to date the way client-go's
// reflector does it: list in pages, then watch from the list's resource
// version, re-watching whenever the server ends a watch. A watch whose
// resource version has expired (410 Gone) leads to a new list; any other
// failure to a new list after a backoff. A list replaces what was known, so
// objects deleted while the watch was down are deleted here too, at the end
// of the list. Nothing is cleared on a failure: the last known objects stay,
// and so does what was programmed from them.
//
// Only each object's resourceVersion is kept here (to tell news from a list
// repeating what is known); the objects themselves go to the source's
// decoders as they arrive, a page at a time.
import { isJsonObject, Json } from './field_reader';
import { KubeApi, ListPage, Query, WatchEventType, WatchStream } from './kube_api';
import { isGone } from './kubernetes_errors';

export interface WatchTarget {
  kind: string;
  /** Added to objects, whose list items carry neither. */
  apiVersion: string;
  /** The collection, e.g. /api/v1/services. */
  path: string;
  /** labelSelector and fieldSelector, as the API server takes them. */
  selectors: Query;
}

export interface WatchEvents {
  /** An object was added or changed (plain JSON with kind and apiVersion). */
  upsert(key: string, obj: Json): void;
  removed(key: string): void;
  /** A complete list was taken in: every object is known. */
  listed(count: number): void;
  /** Listing or watching failed; a new list starts after delayMs. */
  failed(err: unknown, delayMs: number): void;
}

export interface Backoff {
  initialMs: number;
  maxMs: number;
  /** A list and watch that ran this long before failing starts the backoff over. */
  resetAfterMs: number;
}

// A proxy must converge soon after its API server returns, so the backoff
// stays short: a failed connect is cheap for both sides. A watch that ran
// for a while before failing (an API server restart) starts over.
export const DEFAULT_BACKOFF: Backoff = { initialMs: 500, maxMs: 5_000, resetAfterMs: 10_000 };

/** client-go's page size: a page of Services is about a megabyte of JSON. */
export const PAGE_SIZE = 500;

/** client-go's bounds for a watch's life: the server ends it after a random
 *  time in this range, and it is watched again from where it was, so a
 *  connection that died without a word is found out within that time. */
const WATCH_TIMEOUT_S = [300, 600];

/** A watch that the server ends this soon, with nothing in it, is a server
 *  that refuses to watch without saying so: it counts as a failure, so that
 *  it is not asked again at once, in a loop (client-go does the same). */
const SHORTEST_WATCH_MS = 1_000;

/** Thrown into a list or watch that stop() or a newer start replaced. */
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
  /** Known objects by key, with their resourceVersion. */
  private readonly known = new Map<string, string | undefined>();
  private generation = 0;
  private stream?: WatchStream;
  private nextDelayMs: number;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly api: KubeApi,
    private readonly target: WatchTarget,
    private readonly events: WatchEvents,
    private readonly backoff: Backoff = DEFAULT_BACKOFF,
  ) {
    this.nextDelayMs = backoff.initialMs;
  }

  start(): void {
    this.launch();
  }

  stop(): void {
    this.generation++;
    clearTimeout(this.timer);
    this.stream?.stop();
  }

  private launch(): void {
    const generation = ++this.generation;
    const startedAt = Date.now();
    this.run(generation).catch((err: unknown) => {
      if (generation === this.generation) this.failed(err, startedAt);
    });
  }

  /** Lists, then watches for as long as that works; only a failure ends it. */
  private async run(generation: number): Promise<never> {
    let version = await this.list(generation);
    for (;;) {
      try {
        version = await this.watch(generation, version);
      } catch (e) {
        if (!isGone(e) || generation !== this.generation) throw e;
        version = await this.list(generation);
      }
    }
  }

  private current(generation: number): void {
    if (generation !== this.generation) throw new Superseded();
  }

  /** Every object, a page at a time; returns the list's resource version. */
  private async list(generation: number): Promise<string> {
    let seen = new Set<string>();
    let next = '';
    for (;;) {
      let page: ListPage;
      try {
        page = await this.api.list(this.target.path, { ...this.target.selectors, limit: String(PAGE_SIZE), ...(next && { continue: next }) });
      } catch (e) {
        // A continue token lasts as long as etcd keeps the list's revision
        // (5 minutes): past that the list starts over.
        if (!next || !isGone(e)) throw e;
        [seen, next] = [new Set(), ''];
        continue;
      }
      this.current(generation);
      for (const item of page.items) seen.add(this.upsert(item));
      next = page.metadata?.continue ?? '';
      if (next) continue;
      for (const key of [...this.known.keys()]) if (!seen.has(key)) this.remove(key);
      this.events.listed(seen.size);
      return page.metadata?.resourceVersion ?? '';
    }
  }

  /** Watches from version until the server ends the watch; returns the last
   *  version seen (events and bookmarks carry it). */
  private async watch(generation: number, version: string): Promise<string> {
    const [min, max] = WATCH_TIMEOUT_S;
    const query: Query = {
      ...this.target.selectors,
      resourceVersion: version,
      // Bookmarks keep the version fresh, so a re-watch rarely finds it expired.
      allowWatchBookmarks: 'true',
      timeoutSeconds: String(Math.floor(min + Math.random() * (max - min))),
    };
    let last = version;
    let events = 0;
    const startedAt = Date.now();
    const stream = this.api.watch(this.target.path, query, (type: WatchEventType, obj: Json) => {
      if (generation !== this.generation) return;
      events++;
      last = resourceVersion(obj) ?? last;
      if (type === 'ADDED' || type === 'MODIFIED') this.upsert(obj);
      else if (type === 'DELETED') this.remove(objectKey(obj));
    });
    this.stream = stream;
    await stream.done;
    this.current(generation);
    if (events === 0 && Date.now() - startedAt < SHORTEST_WATCH_MS) throw new Error('the API server ended the watch at once');
    return last;
  }

  private failed(err: unknown, startedAt: number): void {
    this.generation++;
    const ranLong = Date.now() - startedAt >= this.backoff.resetAfterMs;
    const delay = ranLong ? this.backoff.initialMs : this.nextDelayMs;
    this.nextDelayMs = Math.min(delay * 2, this.backoff.maxMs);
    this.events.failed(err, delay);
    this.timer = setTimeout(() => this.launch(), delay);
  }

  /** Returns the object's key. */
  private upsert(obj: Json): string {
    const key = objectKey(obj);
    const version = resourceVersion(obj);
    if (version !== undefined && this.known.has(key) && this.known.get(key) === version) return key;
    this.known.set(key, version);
    // The object is this watch's own, fresh from JSON.parse: a copy of each
    // of 20k objects would cost as much as decoding them.
    obj.kind = this.target.kind;
    obj.apiVersion = this.target.apiVersion;
    this.events.upsert(key, obj);
    return key;
  }

  private remove(key: string): void {
    if (this.known.delete(key)) this.events.removed(key);
  }
}
