// The API server over plain HTTPS, as the Kubernetes source uses it: one page
// of a list, and a watch as a stream of events. Both hand over JSON as the
// API server sends it, which the decoders take as it is; a page is parsed
// when it has arrived whole, and dropped once its items are decoded, so the
// agent never holds more than one page of raw objects.
import * as http from 'http';
import * as https from 'https';
import { Json } from './field_reader';
import { ApiStatusError } from './kubernetes_errors';

export interface ListPage {
  items: Json[];
  metadata?: { resourceVersion?: string; continue?: string };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchStream {
  /** Resolves when the server ends the watch; rejects when it fails, with
   *  ApiStatusError for a refusal or an ERROR event. */
  done: Promise<void>;
  stop(): void;
}

export type Query = Record<string, string>;

export interface KubeApi {
  list(path: string, query: Query): Promise<ListPage>;
  /** query carries timeoutSeconds: the server ends the watch after it. */
  watch(path: string, query: Query, event: (type: WatchEventType, object: Json) => void): WatchStream;
}

/** The one write the agent makes: creating an object (an Event). */
export interface KubeCreator {
  create(path: string, body: Json): Promise<Json>;
}

/** Where the API server is and how to talk to it. */
export interface ApiConnection {
  server: URL;
  /** TLS and credentials for one request (read anew each time: a token
   *  file is rotated under a running agent). */
  requestOptions(): Promise<https.RequestOptions>;
}

/** A list page that stalls this long is given up (and retried after a backoff). */
const LIST_IDLE_TIMEOUT_MS = 30_000;
/** A watch silent for its whole timeoutSeconds and this much more is a
 *  connection that died without a word (the server would have ended it). */
const WATCH_GRACE_MS = 30_000;

/** A create that gets no answer this long is given up. */
const CREATE_TIMEOUT_MS = 10_000;

export class HttpsKubeApi implements KubeApi, KubeCreator {
  constructor(private readonly conn: ApiConnection) {}

  async list(path: string, query: Query): Promise<ListPage> {
    const res = await this.request('GET', path, query, LIST_IDLE_TIMEOUT_MS);
    return JSON.parse(await text(res)) as ListPage;
  }

  async create(path: string, body: Json): Promise<Json> {
    const res = await this.request('POST', path, {}, CREATE_TIMEOUT_MS, undefined, JSON.stringify(body));
    return JSON.parse(await text(res)) as Json;
  }

  watch(path: string, query: Query, event: (type: WatchEventType, object: Json) => void): WatchStream {
    const abort = new AbortController();
    const timeoutMs = Number(query.timeoutSeconds) * 1000 + WATCH_GRACE_MS;
    const done = (async () => {
      const res = await this.request('GET', path, { ...query, watch: 'true' }, timeoutMs, abort.signal);
      res.setEncoding('utf8');
      // One event per line.
      let partial = '';
      for await (const chunk of res) {
        const lines = (partial + (chunk as string)).split('\n');
        partial = lines.pop() as string;
        for (const line of lines) {
          if (!line.trim()) continue;
          const e = JSON.parse(line) as { type: WatchEventType | 'ERROR'; object: Json };
          if (e.type === 'ERROR') throw new ApiStatusError(Number(e.object.code), e.object);
          event(e.type, e.object);
        }
      }
    })();
    return { done, stop: () => abort.abort() };
  }

  /** The response once its status is 2xx; else ApiStatusError with the server's Status. */
  private async request(method: 'GET' | 'POST', path: string, query: Query, idleTimeoutMs: number, signal?: AbortSignal, body?: string): Promise<http.IncomingMessage> {
    // The server's URL may carry a path of its own (an API server behind a proxy).
    const url = new URL(this.conn.server.href.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const options = await this.conn.requestOptions();
    return new Promise((resolve, reject) => {
      const headers = { ...options.headers, Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
      const req = https.request(url, { ...options, method, headers, signal }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) resolve(res);
        else text(res).then((body) => reject(new ApiStatusError(status, parsedOr(body))), reject);
      });
      req.setTimeout(idleTimeoutMs, () => req.destroy(Object.assign(new Error(`the API server sent nothing for ${idleTimeoutMs} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(body);
    });
  }
}

async function text(res: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A refusal's body is a Status object, unless something between kpr and
 *  the API server (a proxy) answered instead. */
function parsedOr(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}
