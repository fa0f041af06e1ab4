// The control-plane benchmark's writer: plain JSON over HTTPS with the admin
// client certificate, on a pool of kept-alive connections. Populating 10k
// Services and 10k EndpointSlices one request at a time through client-node
// would take minutes and measure client-node; this takes what the API server
// can do with a bounded number of requests in flight. The e2e chart test
// uses it too, for the dry-run writes and reads that client-node has no call for.
import * as fs from 'fs';
import * as https from 'https';
import { Cluster } from '../e2e/cluster';

const REQUEST_TIMEOUT_MS = 30_000;

export type Json = Record<string, unknown>;

export class ApiWriter {
  private readonly agent: https.Agent;
  private readonly base: URL;

  constructor(
    cluster: Cluster,
    /** Requests in flight at most, in create(); also the connection pool's size. */
    readonly concurrency: number,
  ) {
    this.base = new URL(cluster.server);
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: concurrency,
      ca: fs.readFileSync(cluster.caFile),
      cert: fs.readFileSync(cluster.clientCertFile),
      key: fs.readFileSync(cluster.clientKeyFile),
    });
  }

  /** The response's JSON; rejects on any status but 2xx, with the API's message. */
  request(method: 'GET' | 'POST' | 'PATCH', path: string, body?: Json, contentType = 'application/json'): Promise<Json> {
    const data = body === undefined ? '' : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.base.hostname,
          port: this.base.port,
          method,
          path,
          agent: this.agent,
          timeout: REQUEST_TIMEOUT_MS,
          headers: { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(data), Accept: 'application/json' },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) resolve(JSON.parse(text) as Json);
            else reject(new Error(`${method} ${path}: HTTP ${status}: ${text.slice(0, 500)}`));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer after ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', reject);
      req.end(data);
    });
  }

  create(path: string, body: Json): Promise<Json> {
    return this.request('POST', path, body);
  }

  /** JSON merge patch: lists in the patch replace the object's lists whole. */
  mergePatch(path: string, body: Json): Promise<Json> {
    return this.request('PATCH', path, body, 'application/merge-patch+json');
  }

  /** Runs make(i) for i in [from, to) with at most `concurrency` in flight,
   *  calling progress after every `every` completions; rejects on the first failure. */
  async createMany<T>(from: number, to: number, make: (i: number) => Promise<T>, progress: (done: number) => void, every: number): Promise<T[]> {
    const results: T[] = new Array(to - from);
    let next = from;
    let done = 0;
    let failed: Error | undefined;
    const worker = async () => {
      while (next < to && !failed) {
        const i = next++;
        try {
          results[i - from] = await make(i);
        } catch (e) {
          failed ??= e as Error;
          return;
        }
        if (++done % every === 0) progress(done);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, to - from) }, worker));
    if (failed) throw failed;
    return results;
  }

  close(): void {
    this.agent.destroy();
  }
}
