// Socket-level ClusterIP load balancing, proven with real sockets in network
// namespaces: a client process in the test cgroup connects to a ClusterIP
// that no interface has, so only a translation by the agent's programs can
// make it reach a backend. Each case runs for IPv4 and for IPv6.
import { Protocol } from '../../lib/model/protocol';
import { assertPrivileged } from '../helpers/preflight';
import { runClient, runInPlace, startHold } from '../helpers/client_runner';
import { Endpoint, serviceManifest, ServicePort } from '../helpers/manifests';
import { EchoServer, startEchoServers } from '../helpers/servers';
import { sleep } from '../helpers/sleep';
import { createTopology, Topology } from '../helpers/topology';
import { LbFixture } from './lb_fixture';

jest.setTimeout(60_000);

const TCP_PORT = 8080;
const UDP_PORT = 5353;

const families = [
  { family: 'IPv4', clusterIP: (n: number) => `198.19.0.${n}`, addrOf: (h: { ipv4: string }) => h.ipv4 },
  { family: 'IPv6', clusterIP: (n: number) => `fd00:198:18:1::${n}`, addrOf: (h: { ipv6?: string }) => h.ipv6 as string },
];

describe.each(families)('socket LB over $family', ({ clusterIP, addrOf }) => {
  let topo: Topology;
  let servers: EchoServer[];
  let lb: LbFixture | undefined;

  beforeAll(async () => {
    assertPrivileged();
    topo = createTopology({ prefix: 'socklb', backends: 3 });
    servers = await startEchoServers(topo, { tcp: [TCP_PORT], udp: [UDP_PORT] });
  });
  afterAll(async () => {
    await Promise.all((servers ?? []).map((s) => s.stop()));
    topo?.destroy();
  });
  afterEach(async () => {
    await lb?.destroy();
    lb = undefined;
  });

  const backendAddrs = () => topo.backends.map(addrOf);
  const endpoints = (addrs: string[]): Endpoint[] => addrs.map((addr) => ({ addr }));
  const tcpPort: ServicePort = { name: 'tcp', port: 80, targetPort: TCP_PORT, protocol: 'TCP' };
  const udpPort: ServicePort = { name: 'dns', port: 53, targetPort: UDP_PORT, protocol: 'UDP' };
  const fe = (ip: string, port: number, proto: Protocol) => ({ addr: ip, port, proto });
  const hostPort = (addr: string, port: number) => `${addr}:${port}`;

  /** Starts an agent serving one service; waits until the maps hold it. */
  async function serve(name: string, ip: string, ports: ServicePort[], addrs: string[], extraSpec?: Record<string, unknown>) {
    lb = new LbFixture(topo, name);
    lb.write(`${name}.yaml`, serviceManifest({ namespace: 'test', name, clusterIPs: [ip], ports, endpoints: endpoints(addrs), extraSpec }));
    await lb.startAgent();
    for (const p of ports) await lb.waitForBackends(fe(ip, p.port, p.protocol ?? 'TCP'), addrs.map((a) => hostPort(a, p.targetPort ?? p.port)));
    return lb;
  }

  test('a TCP ClusterIP with 3 backends receives connections on all 3', async () => {
    const ip = clusterIP(10);
    const t = await serve('tcp3', ip, [tcpPort], backendAddrs());
    const r = await runClient(t.client, { mode: 'tcp', addr: ip, port: 80, count: 60 });
    expect(r.errors).toEqual({});
    expect(Object.keys(r.backends).sort()).toEqual(['b1', 'b2', 'b3']);
    const translations = t.withMaps((m) => m.readServiceStats()).reduce((s, x) => s + x.translations, 0);
    expect(translations).toBeGreaterThanOrEqual(60);
  });

  test('the backend sees the client\'s own address: nothing is source-NATed', async () => {
    const ip = clusterIP(18);
    const t = await serve('srcip', ip, [tcpPort], backendAddrs());
    const script = `const s = require('net').connect(80, '${ip}', () => s.write('peer\\n'));` +
      `s.on('data', (d) => { process.stdout.write(d.toString()); s.end(); });`;
    const proc = await runInPlace(t.client, [process.execPath, '-e', script], 10_000);
    const [backend, seen] = proc.stdoutLines[0].split(' ');
    expect(['b1', 'b2', 'b3']).toContain(backend);
    expect(seen.replace(/^::ffff:/, '')).toBe(addrOf(topo.client));
  });

  test('a UDP ClusterIP answers, and the client sees the service address as the peer', async () => {
    const ip = clusterIP(11);
    const t = await serve('udp', ip, [udpPort], backendAddrs());
    const r = await runClient(t.client, { mode: 'udp', addr: ip, port: 53, count: 30 });
    expect(r.errors).toEqual({});
    expect(Object.keys(r.backends).length).toBeGreaterThan(1);
    for (const res of r.results) expect([res.fromAddr, res.fromPort]).toEqual([ip, 53]);

    const c = await runClient(t.client, { mode: 'udp-connected', addr: ip, port: 53, count: 5 });
    expect(c.errors).toEqual({});
    expect([c.peerAddr, c.peerPort]).toEqual([ip, 53]);
    for (const res of c.results) expect([res.fromAddr, res.fromPort]).toEqual([ip, 53]);
  });

  test('TCP and UDP on the same port go to different backend sets', async () => {
    const ip = clusterIP(12);
    const [b1, b2, b3] = backendAddrs();
    lb = new LbFixture(topo, 'tcpudp');
    // Two services share the address and port and differ only in protocol.
    lb.write('tcp.yaml', serviceManifest({ namespace: 'test', name: 't', clusterIPs: [ip],
      ports: [{ name: 'p', port: 80, targetPort: TCP_PORT, protocol: 'TCP' }], endpoints: endpoints([b1]) }));
    lb.write('udp.yaml', serviceManifest({ namespace: 'test', name: 'u', clusterIPs: [ip],
      ports: [{ name: 'p', port: 80, targetPort: UDP_PORT, protocol: 'UDP' }], endpoints: endpoints([b2, b3]) }));
    await lb.startAgent();
    await lb.waitForBackends(fe(ip, 80, 'TCP'), [hostPort(b1, TCP_PORT)]);
    await lb.waitForBackends(fe(ip, 80, 'UDP'), [hostPort(b2, UDP_PORT), hostPort(b3, UDP_PORT)]);

    const tcp = await runClient(lb.client, { mode: 'tcp', addr: ip, port: 80, count: 20 });
    const udp = await runClient(lb.client, { mode: 'udp', addr: ip, port: 80, count: 30 });
    expect(tcp.backends).toEqual({ b1: 20 });
    expect(Object.keys(udp.backends).sort()).toEqual(['b2', 'b3']);
    expect(udp.errors).toEqual({});
  });

  test('ClientIP affinity pins the client to one backend until its timeout', async () => {
    const ip = clusterIP(13);
    const timeoutSeconds = 1;
    const t = await serve('affinity', ip, [tcpPort], backendAddrs(), {
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds } },
    });
    const pinned = await runClient(t.client, { mode: 'tcp', addr: ip, port: 80, count: 30 });
    expect(pinned.errors).toEqual({});
    const [chosen] = Object.keys(pinned.backends);
    expect(pinned.backends).toEqual({ [chosen]: 30 });

    // After the timeout the next connection chooses afresh: with 3 backends
    // it lands elsewhere with probability 2/3 each round; 10 rounds bound it.
    const seen = new Set<string>();
    for (let round = 0; round < 10 && seen.size < 2; round++) {
      await sleep(timeoutSeconds * 1000 + 300);
      const r = await runClient(t.client, { mode: 'tcp', addr: ip, port: 80, count: 1 });
      expect(r.errors).toEqual({});
      Object.keys(r.backends).forEach((b) => seen.add(b));
      seen.add(chosen);
    }
    expect(seen.size).toBeGreaterThan(1);
  });

  test('a service without backends refuses at once, and a counter says why', async () => {
    const ip = clusterIP(14);
    const t = await serve('empty', ip, [tcpPort, udpPort], []);
    const before = t.drops()[0];
    const tcp = await runClient(t.client, { mode: 'tcp', addr: ip, port: 80, count: 5 });
    expect(tcp.errors).toEqual({ ECONNREFUSED: 5 });
    for (const res of tcp.results) expect(res.ms).toBeLessThan(100);
    const udp = await runClient(t.client, { mode: 'udp', addr: ip, port: 53, count: 3 });
    expect(udp.errors).toEqual({ ECONNREFUSED: 3 });
    expect(t.drops()[0] - before).toBeGreaterThanOrEqual(8);
  });

  test('a removed backend gets no new connections once the agent has applied the change', async () => {
    const ip = clusterIP(15);
    const addrs = backendAddrs();
    const t = await serve('remove', ip, [tcpPort], addrs);
    t.write('remove.yaml', serviceManifest({ namespace: 'test', name: 'remove', clusterIPs: [ip], ports: [tcpPort], endpoints: endpoints(addrs.slice(0, 2)) }));
    await t.waitForBackends(fe(ip, 80, 'TCP'), addrs.slice(0, 2).map((a) => hostPort(a, TCP_PORT)));
    const r = await runClient(t.client, { mode: 'tcp', addr: ip, port: 80, count: 60 });
    expect(r.errors).toEqual({});
    expect(Object.keys(r.backends).sort()).toEqual(['b1', 'b2']);
  });

  test('a connected UDP socket to a removed backend is destroyed', async () => {
    const ip = clusterIP(16);
    const addrs = backendAddrs();
    const t = await serve('udpdestroy', ip, [udpPort], addrs);
    const hold = startHold(t.client, { proto: 'udp', addr: ip, port: 53, durationMs: 15_000, intervalMs: 50 });
    try {
      const first = await hold.waitForEvent('a probe answered', (e) => e.type === 'probe' && e.ok, 10_000);
      const backend = first.type === 'probe' ? (first.backend as string) : '';
      const kept = addrs.filter((_, i) => `b${i + 1}` !== backend);
      t.write('udpdestroy.yaml', serviceManifest({ namespace: 'test', name: 'udpdestroy', clusterIPs: [ip], ports: [udpPort], endpoints: endpoints(kept) }));
      await t.waitForBackends(fe(ip, 53, 'UDP'), kept.map((a) => hostPort(a, UDP_PORT)));
      // The application learns that its socket is gone: an error, not silence.
      const err = await hold.waitForEvent('the socket reporting an error', (e) => e.type === 'error' || (e.type === 'probe' && !e.ok), 5000);
      expect(err.type === 'error' ? err.error : err.type === 'probe' ? err.error : '').toMatch(/ECONNABORTED|EDESTADDRREQ|ENOTCONN/);
      // The backend itself still answers: the failure came from the destroy.
      const direct = await runClient(t.client, { mode: 'udp', addr: addrs[Number(backend.slice(1)) - 1], port: UDP_PORT, count: 1 });
      expect(direct.backends).toEqual({ [backend]: 1 });
    } finally {
      await hold.stop();
    }
  });

  test('an established TCP connection and new connections survive kill -9 and restart of the agent', async () => {
    const ip = clusterIP(17);
    const t = await serve('restart', ip, [tcpPort], backendAddrs());
    const before = t.withMaps((m) => ({ services: m.dumpServices(), backends: m.dumpBackends() }));
    const hold = startHold(t.client, { proto: 'tcp', addr: ip, port: 80, durationMs: 6000, intervalMs: 50 });
    try {
      await hold.waitForEvent('a probe answered', (e) => e.type === 'probe' && e.ok, 10_000);
      const load = runClient(t.client, { mode: 'tcp', addr: ip, port: 80, count: 3000, deadlineMs: 5000 });
      await t.agent?.stop('SIGKILL');
      await sleep(300); // connections keep being made while no agent runs
      const agent = await t.startAgent();
      expect(agent.lines.filter((l) => / replaced/.test(l)).length).toBeGreaterThanOrEqual(8);
      const newConns = await load;
      expect(newConns.errors).toEqual({});
      expect(newConns.results.length).toBeGreaterThan(100);

      const events = await hold.finished();
      const probes = events.filter((e) => e.type === 'probe');
      expect(events.filter((e) => e.type === 'error')).toEqual([]);
      expect(probes.every((p) => p.type === 'probe' && p.ok)).toBe(true);
      expect(new Set(probes.map((p) => (p.type === 'probe' ? p.backend : ''))).size).toBe(1);
      // Adopted, not flushed: the same ids in the same maps.
      const after = t.withMaps((m) => ({ services: m.dumpServices(), backends: m.dumpBackends() }));
      const byKey = (x: { addr: string; port: number; slot: number }) => `${x.addr}|${x.port}|${x.slot}`;
      expect(after.services.map(byKey).sort()).toEqual(before.services.map(byKey).sort());
      expect(after.backends.sort((a, b) => a.id - b.id)).toEqual(before.backends.sort((a, b) => a.id - b.id));
    } finally {
      await hold.stop();
    }
  });
});
