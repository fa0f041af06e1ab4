// kpr's HTTP endpoints, on kube-proxy's addresses: /metrics (Prometheus text)
// and /healthz (JSON, 503 when syncs are stuck). A server that cannot bind is
// logged and skipped, unless bindAddressHardFail says to stop the agent.
import * as http from 'http';
import { BindAddress } from '../bind_address';
import { Logger } from '../log';
import { formatAddrPort } from '../model/ip_address';
import { ProxyMetrics } from './proxy_metrics';

type Handler = (path: string) => Promise<{ status: number; type: string; body: string }>;

export function metricsHandler(metrics: ProxyMetrics): Handler {
  return async (path) => {
    if (path !== '/metrics') return { status: 404, type: 'text/plain', body: 'not found\n' };
    return { status: 200, type: metrics.registry.contentType, body: await metrics.registry.metrics() };
  };
}

/** timeoutMs: kube-proxy's, twice the sync period. */
export function healthzHandler(metrics: ProxyMetrics, timeoutMs: number): Handler {
  return async (path) => {
    if (path !== '/healthz' && path !== '/livez') return { status: 404, type: 'text/plain', body: 'not found\n' };
    const now = Date.now();
    const h = metrics.health(now, timeoutMs);
    const body = { lastUpdated: h.lastUpdated === undefined ? '' : new Date(h.lastUpdated).toISOString(), currentTime: new Date(now).toISOString() };
    return { status: h.healthy ? 200 : 503, type: 'application/json', body: `${JSON.stringify(body)}\n` };
  };
}

/** Listens on addr; resolves once listening, or undefined when binding
 *  failed and hardFail is off. */
export async function serve(name: string, addr: BindAddress, handler: Handler, log: Logger, hardFail: boolean): Promise<http.Server | undefined> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    handler(path).then(
      (r) => res.writeHead(r.status, { 'Content-Type': r.type }).end(r.body),
      (e: Error) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`${e.message}\n`),
    );
  });
  const where = formatAddrPort(addr.host, addr.port);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => resolve());
    });
  } catch (e) {
    const message = `${name}: cannot listen on ${where}: ${(e as Error).message}`;
    if (hardFail) throw new Error(`${message} (bindAddressHardFail)`);
    log.error(`${message}; serving no ${name}`);
    return undefined;
  }
  log.info(`${name}: serving on http://${where}`);
  return server;
}
