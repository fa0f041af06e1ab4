// kube-proxy's healthCheckNodePort servers: for each LoadBalancer service
// with externalTrafficPolicy Local, HTTP on its healthCheckNodePort that
// tells the cloud load balancer whether this node has ready endpoints of the
// service (200) or none (503), with kube-proxy's body and headers, so that
// load balancers configured for kube-proxy keep working. A server is opened
// when its service appears and closed when it goes; a port that cannot be
// bound is logged and tried again at the next sync, never fatal. Like
// kube-proxy, every address is served, or with nodePortAddresses the
// addresses that serve NodePorts (model/nodeport_addresses.ts); a server
// whose addresses change is opened anew on the new ones.
import * as http from 'http';
import { refusedWrite } from './http_methods';
import { Logger } from './log';
import { HealthCheck } from './model/health_check';
import { formatAddrPort } from './model/ip_address';

/** kube-proxy's body, byte for byte: Go's indented JSON without a final newline. */
export function healthCheckBody(c: HealthCheck, proxyHealthy: boolean): string {
  return [
    '{',
    '\t"service": {',
    `\t\t"namespace": ${JSON.stringify(c.namespace)},`,
    `\t\t"name": ${JSON.stringify(c.name)}`,
    '\t},',
    `\t"localEndpoints": ${c.localEndpoints},`,
    `\t"serviceProxyHealthy": ${proxyHealthy}`,
    '}',
  ].join('\n');
}

interface Instance {
  port: number;
  /** What the hosts were when it was opened; another set reopens it. */
  hosts: string;
  localEndpoints: number;
  servers: http.Server[];
  closed: boolean;
}

const serviceKey = (c: HealthCheck) => `${c.namespace}/${c.name}`;
const hostsKey = (hosts: string[] | 'all') => (hosts === 'all' ? hosts : hosts.join(','));

export class HealthCheckServers {
  private readonly instances = new Map<string, Instance>();
  private pending: Promise<unknown>[] = [];

  constructor(
    /** kube-proxy's healthz verdict (serviceProxyHealthy): an unhealthy proxy answers 503 everywhere. */
    private readonly proxyHealthy: () => boolean,
    private readonly log: Logger,
  ) {}

  /** Serves exactly checks from now on, on hosts: these addresses, or all of them. */
  sync(checks: HealthCheck[], hosts: string[] | 'all'): void {
    const wanted = new Map(checks.map((c) => [serviceKey(c), c]));
    const hostKey = hostsKey(hosts);
    for (const [key, inst] of this.instances) {
      const c = wanted.get(key);
      if (!c || c.port !== inst.port || inst.hosts !== hostKey) this.close(key, inst);
    }
    for (const [key, c] of wanted) {
      const inst = this.instances.get(key);
      if (inst) inst.localEndpoints = c.localEndpoints;
      else this.open(key, c, hosts);
    }
  }

  /** Settles once every server opened so far listens or has failed. */
  async settled(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    await Promise.allSettled(pending);
  }

  closeAll(): void {
    for (const [key, inst] of this.instances) this.close(key, inst);
  }

  private open(key: string, c: HealthCheck, hosts: string[] | 'all'): void {
    const inst: Instance = { port: c.port, hosts: hostsKey(hosts), localEndpoints: c.localEndpoints, servers: [], closed: false };
    this.instances.set(key, inst);
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      if (refusedWrite(req, res)) return;
      const healthy = this.proxyHealthy();
      const status = inst.localEndpoints > 0 && healthy ? 200 : 503;
      const body = healthCheckBody({ ...c, localEndpoints: inst.localEndpoints }, healthy);
      res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' }).end(body);
    };
    const listens = (hosts === 'all' ? [undefined] : hosts).map((host) => {
      const server = http.createServer(handler);
      inst.servers.push(server);
      return new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(c.port, host, () => {
          // Closed while it was still binding: it must not stay open.
          if (inst.closed) stop(server);
          resolve();
        });
      });
    });
    const where = hosts === 'all' ? `port ${c.port}` : hosts.map((h) => formatAddrPort(h, c.port)).join(', ') || `no address (port ${c.port})`;
    this.pending.push(
      Promise.all(listens).then(
        () => this.log.info(`healthcheck: Service ${key}: serving on ${where}`),
        (e: Error) => {
          this.log.error(`healthcheck: Service ${key}: cannot listen on ${where}: ${e.message}; trying again at the next sync`);
          if (this.instances.get(key) === inst) this.close(key, inst);
        },
      ),
    );
  }

  private close(key: string, inst: Instance): void {
    this.instances.delete(key);
    inst.closed = true;
    for (const s of inst.servers) if (s.listening) stop(s);
  }
}

/** Stops listening and drops kept-alive connections, which would keep answering. */
function stop(server: http.Server): void {
  server.close();
  server.closeAllConnections();
}
