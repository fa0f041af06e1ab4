// A real Prometheus (Debian's package, installed by `make deps`) on loopback,
// scraping the given targets every second, for tests to read values back
// through its HTTP API. Its data lives in a test dir, removed on stop.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { LineProcess } from './line_process';
import { createTestDir, TestDir } from './test_dir';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const READY = /Server is ready to receive web requests/;
const READY_TIMEOUT_MS = 30_000;

/** Fails, never skips, when the package is missing. */
export function requirePrometheus(): void {
  const missing = [PROMETHEUS, PROMTOOL].filter((f) => !fs.existsSync(f));
  if (missing.length > 0) throw new Error(`${missing.join(' and ')} missing: run \`make deps\` (installs Debian's prometheus package)`);
}

/** A loopback port free right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `promtool check metrics` on an exposition: its complaints, empty when none. */
export function promtoolCheckMetrics(text: string): string {
  try {
    return execFileSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] }).trim();
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() || err.message;
  }
}

export interface QueryResult {
  metric: Record<string, string>;
  value: number;
}

export class Prometheus {
  private constructor(
    private readonly proc: LineProcess,
    private readonly dir: TestDir,
    readonly url: string,
    private readonly netns?: string,
  ) {}

  /** Scrapes each target ("127.0.0.1:PORT", path /metrics) every second;
   *  in a network namespace (/run/netns name) when given, there reached by
   *  curl, as an agent of a node namespace is scraped where it serves. */
  static async start(targets: string[], netns?: string): Promise<Prometheus> {
    requirePrometheus();
    const dir = createTestDir('prometheus');
    try {
      const config = path.join(dir.path, 'prometheus.yml');
      fs.writeFileSync(config, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: kpr\n    static_configs:\n      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]\n`);
      const port = await freePort();
      const args = [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir.path, 'data')}`, `--web.listen-address=127.0.0.1:${port}`];
      const proc = netns
        ? new LineProcess('prometheus', 'nsenter', [`--net=/run/netns/${netns}`, PROMETHEUS, ...args], dir.path)
        : new LineProcess('prometheus', PROMETHEUS, args, dir.path);
      try {
        await proc.waitForLine('Prometheus ready', (l) => READY.test(l), READY_TIMEOUT_MS);
      } catch (e) {
        await proc.stop('SIGKILL');
        throw e;
      }
      return new Prometheus(proc, dir, `http://127.0.0.1:${port}`, netns);
    } catch (e) {
      dir.destroy();
      throw e;
    }
  }

  private async get(url: string): Promise<unknown> {
    if (!this.netns) return (await fetch(url)).json();
    return JSON.parse(execFileSync('nsenter', [`--net=/run/netns/${this.netns}`, 'curl', '-sS', '--max-time', '10', url], { encoding: 'utf8' }));
  }

  /** An instant query through /api/v1/query. */
  async query(promql: string): Promise<QueryResult[]> {
    const body = (await this.get(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`)) as { status: string; error?: string; data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success' || body.data?.resultType !== 'vector') throw new Error(`query ${promql}: ${body.error ?? JSON.stringify(body)}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  }

  /** Polls a query until ok accepts its result; fails with the last one after timeoutMs. */
  async waitFor(promql: string, ok: (r: QueryResult[]) => boolean, timeoutMs = 20_000): Promise<QueryResult[]> {
    const deadline = Date.now() + timeoutMs;
    let last: QueryResult[] = [];
    while (Date.now() < deadline) {
      last = await this.query(promql);
      if (ok(last)) return last;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`${promql}: no acceptable result in ${timeoutMs}ms; last ${JSON.stringify(last)}\n${this.proc.logTail()}`);
  }

  async stop(): Promise<void> {
    try {
      await this.proc.stop('SIGTERM');
    } finally {
      this.dir.destroy();
    }
  }
}
