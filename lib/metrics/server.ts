// kpr's HTTP endpoints, on kube-proxy's addresses: /metrics (Prometheus text)
// and /proxyMode beside it, /healthz and /livez (kube-proxy's JSON; proxier_health.ts decides). A server that cannot bind is
// logged and skipped, unless bindAddressHardFail says to stop the agent.
import * as http from 'http';
import { BindAddress } from '../bind_address';
import { refusedWrite } from '../http_methods';
import { Logger } from '../log';
import { formatAddrPort } from '../model/ip_address';
import { Registry } from 'prom-client';
import { ProxyMetrics } from './proxy_metrics';

type Handler = (path: string) => Promise<{ status: number; type: string; body: string }>;

/** What /proxyMode answers. kube-proxy names its mode there (iptables,
 *  nftables, ipvs); tools and upstream's e2e tests read it to learn which
 *  proxy runs, and a test that needs iptables mode skips on any other. */
export const PROXY_MODE = 'kpr';

/** collect: reads what the registry's metrics show, right before each scrape. */
export function metricsHandler(registry: Registry, collect: () => void = () => {}): Handler {
  return async (path) => {
    if (path === '/proxyMode') return { status: 200, type: 'text/plain', body: PROXY_MODE };
    if (path !== '/metrics') return { status: 404, type: 'text/plain', body: 'not found\n' };
    collect();
    return { status: 200, type: registry.contentType, body: await registry.metrics() };
  };
}

export function healthzHandler(metrics: ProxyMetrics): Handler {
  return async (path) => {
    const answer = path === '/healthz' ? metrics.healthz(Date.now()) : path === '/livez' ? metrics.livez(Date.now()) : undefined;
    if (!answer) return { status: 404, type: 'text/plain', body: 'not found\n' };
    return { status: answer.status, type: 'application/json', body: answer.body };
  };
}

/** Listens on addr; resolves once listening, or undefined when binding
 *  failed and hardFail is off. */
export async function serve(name: string, addr: BindAddress, handler: Handler, log: Logger, hardFail: boolean): Promise<http.Server | undefined> {
  const server = http.createServer((req, res) => {
    if (refusedWrite(req, res)) return;
    const path = (req.url ?? '/').split('?')[0];
    handler(path).then(
      (r) => res.writeHead(r.status, { 'Content-Type': r.type, 'X-Content-Type-Options': 'nosniff' }).end(r.body),
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
