// Real servers on loopback, real HTTP requests.
import * as http from 'http';
import * as net from 'net';
import { HealthCheckServers } from '../../lib/health_check_node_port';
import { MemoryLogger } from './logger';

const HOST = '127.0.0.1';

/** A port free on loopback just now. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(0, HOST, () => resolve()));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function get(port: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: '/', agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

const refused = (port: number) => get(port).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');

describe('healthCheckNodePort servers', () => {
  let servers: HealthCheckServers;
  let healthy: boolean;
  const log = new MemoryLogger();
  beforeEach(() => {
    healthy = true;
    servers = new HealthCheckServers(() => healthy, log);
  });
  afterEach(() => servers.closeAll());

  test("kube-proxy's answer: 200 with local endpoints, 503 once they are gone, its body and headers", async () => {
    const port = await freePort();
    servers.sync([{ namespace: 'shop', name: 'web', port, localEndpoints: 2 }], [HOST]);
    await servers.settled();
    const ok = await get(port);
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toBe('application/json');
    expect(ok.headers['x-content-type-options']).toBe('nosniff');
    expect(ok.body).toBe('{\n\t"service": {\n\t\t"namespace": "shop",\n\t\t"name": "web"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}');
    servers.sync([{ namespace: 'shop', name: 'web', port, localEndpoints: 0 }], [HOST]);
    const none = await get(port);
    expect(none.status).toBe(503);
    expect(JSON.parse(none.body)).toEqual({ service: { namespace: 'shop', name: 'web' }, localEndpoints: 0, serviceProxyHealthy: true });
  });

  test('an unhealthy proxy answers 503 even with local endpoints', async () => {
    const port = await freePort();
    servers.sync([{ namespace: 'shop', name: 'web', port, localEndpoints: 1 }], [HOST]);
    await servers.settled();
    healthy = false;
    const r = await get(port);
    expect([r.status, JSON.parse(r.body).serviceProxyHealthy]).toEqual([503, false]);
  });

  test('servers open and close as services come and go, or change port', async () => {
    const [a, b] = [await freePort(), await freePort()];
    servers.sync([{ namespace: 'shop', name: 'web', port: a, localEndpoints: 1 }], [HOST]);
    await servers.settled();
    expect((await get(a)).status).toBe(200);
    servers.sync([{ namespace: 'shop', name: 'web', port: b, localEndpoints: 1 }], [HOST]);
    await servers.settled();
    expect(await refused(a)).toBe(true);
    expect((await get(b)).status).toBe(200);
    servers.sync([], [HOST]);
    expect(await refused(b)).toBe(true);
  });

  test('a port that cannot be bound is logged, not fatal, and tried again at the next sync', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, HOST, () => resolve()));
    const { port } = taken.address() as net.AddressInfo;
    const other = await freePort();
    servers.sync([{ namespace: 'shop', name: 'web', port, localEndpoints: 1 }, { namespace: 'shop', name: 'api', port: other, localEndpoints: 1 }], [HOST]);
    await servers.settled();
    expect(log.matching(/cannot listen/)).toEqual([`error healthcheck: Service shop/web: cannot listen on ${HOST}:${port}: listen EADDRINUSE: address already in use ${HOST}:${port}; trying again at the next sync`]);
    expect((await get(other)).status).toBe(200);
    await new Promise<void>((resolve) => taken.close(() => resolve()));
    servers.sync([{ namespace: 'shop', name: 'web', port, localEndpoints: 1 }, { namespace: 'shop', name: 'api', port: other, localEndpoints: 1 }], [HOST]);
    await servers.settled();
    expect((await get(port)).status).toBe(200);
  });

  test('hosts: all addresses, or only those given, or none; a new set reopens the server on it', async () => {
    const port = await freePort();
    const web = [{ namespace: 'shop', name: 'web', port, localEndpoints: 1 }];
    servers.sync(web, 'all');
    await servers.settled();
    expect((await get(port)).status).toBe(200);
    // Narrowed to another address: the one asked is refused.
    servers.sync(web, ['127.0.0.2']);
    await servers.settled();
    expect(await refused(port)).toBe(true);
    expect(log.matching(/cannot listen on 127\.0\.0\.2/)).toEqual([]);
    servers.sync(web, []);
    await servers.settled();
    expect(await refused(port)).toBe(true);
    expect(log.matching(/no address/)).toEqual([`info healthcheck: Service shop/web: serving on no address (port ${port})`]);
    servers.sync(web, [HOST]);
    await servers.settled();
    expect((await get(port)).status).toBe(200);
  });
});
