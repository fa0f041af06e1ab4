// Service addresses that nothing serves are refused at once, as kube-proxy's
// nftables mode rejects them, with real connections from a client in the
// agent's cgroup: a ClusterIP on a port its service does not have, and an
// address of a service CIDR (a ServiceCIDR manifest) that no service holds,
// over TCP and UDP, both families. An address outside every service CIDR
// that no service holds goes its way untouched (here: no route), and so does
// every address of a ServiceCIDR once it is deleted.
import * as yaml from 'js-yaml';
import { runClient } from '../helpers/client_runner';
import { ClientReport } from '../helpers/client_report';
import { serviceManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { EchoServer, startEchoServers } from '../helpers/servers';
import { createTopology, Topology } from '../helpers/topology';
import { LbFixture } from './lb_fixture';

jest.setTimeout(180_000);

const TCP_PORT = 8080;
const UDP_PORT = 5353;
/** Connections per family and protocol to each kind of unserved address. */
const FLOWS = 2000;
/** A refusal is the socket hook's answer: no packet, no timer. */
const REFUSED_WITHIN_MS = 100;
const NOT_ROUTED = 'ENETUNREACH';

const FAMILIES = {
  ipv4: { cidr: '198.19.64.0/24', clusterIP: '198.19.64.10', unassigned: '198.19.64.99', outside: '198.19.65.1' },
  ipv6: { cidr: 'fd00:198:18:64::/64', clusterIP: 'fd00:198:18:64::a', unassigned: 'fd00:198:18:64::63', outside: 'fd00:198:18:65::1' },
} as const;

const serviceCIDR = yaml.dump({ apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'test-range' }, spec: { cidrs: [FAMILIES.ipv4.cidr, FAMILIES.ipv6.cidr] } });

describe('unserved service addresses are refused (ClusterIPs and ServiceCIDRs)', () => {
  let topo: Topology;
  let servers: EchoServer[];
  let lb: LbFixture;

  beforeAll(async () => {
    assertPrivileged();
    topo = createTopology({ prefix: 'svccidr', backends: 2 });
    servers = await startEchoServers(topo, { tcp: [TCP_PORT], udp: [UDP_PORT] });
    lb = new LbFixture(topo, 'svccidr');
    lb.write(
      'web.yaml',
      serviceManifest({
        namespace: 'test',
        name: 'web',
        clusterIPs: [FAMILIES.ipv4.clusterIP, FAMILIES.ipv6.clusterIP],
        ports: [
          { name: 'http', port: 80, targetPort: TCP_PORT, protocol: 'TCP' },
          { name: 'dns', port: 53, targetPort: UDP_PORT, protocol: 'UDP' },
        ],
        endpoints: topo.backends.flatMap((b) => [b.ipv4, b.ipv6 as string]).map((addr) => ({ addr })),
      }),
    );
    lb.write('range.yaml', serviceCIDR);
    await lb.startAgent();
    await lb.waitForBackends({ addr: FAMILIES.ipv4.clusterIP, port: 80, proto: 'TCP' }, topo.backends.map((b) => `${b.ipv4}:${TCP_PORT}`));
  });
  afterAll(async () => {
    await lb?.destroy();
    await Promise.all((servers ?? []).map((s) => s.stop()));
    topo?.destroy();
  });

  /** Every attempt refused, each within the hook's time. */
  function expectRefused(r: ClientReport, count: number): void {
    expect(r.errors).toEqual({ ECONNREFUSED: count });
    expect(Math.max(...r.results.map((x) => x.ms))).toBeLessThan(REFUSED_WITHIN_MS);
  }
  const tcp = (addr: string, port: number, count: number) => runClient(lb.client, { mode: 'tcp', addr, port, count, timeoutMs: 2000, deadlineMs: 120_000 });
  const udp = (addr: string, port: number, count: number) => runClient(lb.client, { mode: 'udp-connected-new-socket', addr, port, count, timeoutMs: 2000, deadlineMs: 120_000 });
  const noService = () => lb.drops()[3];

  test.each(Object.keys(FAMILIES) as (keyof typeof FAMILIES)[])(`%s: a ClusterIP's other ports and the range's unassigned addresses are refused (${FLOWS} each over TCP and UDP); the service still serves`, async (family) => {
    const f = FAMILIES[family];
    const before = noService();
    expectRefused(await tcp(f.clusterIP, 81, FLOWS), FLOWS);
    expectRefused(await udp(f.clusterIP, 54, FLOWS), FLOWS);
    expectRefused(await tcp(f.unassigned, 80, FLOWS), FLOWS);
    expectRefused(await udp(f.unassigned, 53, FLOWS), FLOWS);
    expect(noService() - before).toBe(4 * FLOWS);
    const served = await tcp(f.clusterIP, 80, 200);
    expect(served.errors).toEqual({});
    expect(Object.keys(served.backends).sort()).toEqual(['b1', 'b2']);
    // Outside every service CIDR and no service's: not the socket LB's to refuse.
    expect((await tcp(f.outside, 80, 20)).errors).toEqual({ [NOT_ROUTED]: 20 });
  });

  test('the ServiceCIDR deleted: its unassigned addresses go their way again, the ClusterIP still refuses its other ports', async () => {
    lb.remove('range.yaml');
    const deadline = Date.now() + 5000;
    let r = await tcp(FAMILIES.ipv4.unassigned, 80, 5);
    while (r.errors[NOT_ROUTED] !== 5 && Date.now() < deadline) r = await tcp(FAMILIES.ipv4.unassigned, 80, 5);
    expect(r.errors).toEqual({ [NOT_ROUTED]: 5 });
    expect((await tcp(FAMILIES.ipv6.unassigned, 80, 20)).errors).toEqual({ [NOT_ROUTED]: 20 });
    expectRefused(await tcp(FAMILIES.ipv4.clusterIP, 81, 200), 200);
    expectRefused(await tcp(FAMILIES.ipv6.clusterIP, 81, 200), 200);
  });
});
