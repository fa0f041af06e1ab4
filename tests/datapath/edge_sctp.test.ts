// SCTP through the edge LB with real packets: an outside client sends SCTP to
// LoadBalancer IPs and node A's NodePorts whose backend is on node A (local)
// or on node B (DSR, snat), IPv4 and IPv6 (tests/helpers/edge_topology.ts),
// and each backend answers. The service port (80) is not the backend's
// (38412), so every request and every answer has a port rewritten, and with
// it the CRC32c (bpf/include/kpr_crc32c.h). This kernel has no SCTP, so the
// packets are sent and answered over raw IP sockets (tests/helpers/sctp_raw.py),
// which also check every CRC32c on both ends with an implementation of their
// own: a wrong one is counted, never answered.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EdgeServiceRow, FlowRow } from '../../lib/cli/edge_listing';
import { repoRoot } from '../../lib/datapath/native';
import { pinPaths } from '../../lib/host/bpffs';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { createEdgeTopology, EdgeNode, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { LineProcess } from '../helpers/line_process';
import { edgeDrops } from '../helpers/maps';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';
import { EchoServer } from '../helpers/servers';

jest.setTimeout(180_000);

const SCTP_RAW = path.join(__dirname, '..', '..', '..', 'tests', 'helpers', 'sctp_raw.py');
const KPR = path.join(repoRoot(), 'bin', 'kpr');
const SERVICE_PORT = 80;
const TARGET = 38412;
/** Flows (each from a source port of its own) per frontend: 12 frontends, 60000 flows. */
const FLOWS = 5000;

interface SctpService {
  name: string;
  lbIps: { ipv4: string; ipv6: string };
  nodePort: number;
  pod: string;
  mode?: 'dsr' | 'snat';
}

const SERVICES: SctpService[] = [
  { name: 'sctp-local', lbIps: { ipv4: '198.18.100.31', ipv6: 'fd00:198:18:100::31' }, nodePort: 30031, pod: 'a1' },
  { name: 'sctp-dsr', lbIps: { ipv4: '198.18.100.32', ipv6: 'fd00:198:18:100::32' }, nodePort: 30032, pod: 'b1', mode: 'dsr' },
  { name: 'sctp-snat', lbIps: { ipv4: '198.18.100.33', ipv6: 'fd00:198:18:100::33' }, nodePort: 30033, pod: 'b1', mode: 'snat' },
];
const FAMILIES = ['ipv4', 'ipv6'] as const;

interface ClientResult {
  sent: number;
  answered: number;
  backends: Record<string, number>;
  wrong_source: number;
  bad_crc: number;
  garbled: number;
  lost: number;
}

describe('edge LB: SCTP with real packets, every path, both families, a port rewrite each way', () => {
  let topo: EdgeTopology;
  let nodeA: EdgeNode;
  let manifests: string;
  const responders: EchoServer[] = [];
  const agents: EdgeNodeAgent[] = [];

  async function startResponder(ns: string, name: string): Promise<EchoServer> {
    const p = new LineProcess(`sctp ${name}`, 'ip', ['netns', 'exec', ns, 'python3', SCTP_RAW, 'responder', name, String(TARGET)]);
    await p.waitForLine('listening', (l) => l === 'listening', 10_000);
    return { name, ns, process: p, stop: async () => void (await p.stop()) };
  }

  const drops = () => agents.map((a) => edgeDrops(pinPaths(a.root.path).maps));

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('sctp', 1);
    nodeA = topo.nodes[0];
    for (const n of topo.nodes) for (const p of n.pods) responders.push(await startResponder(p.ns, p.name));
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-sctp-'));
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    const pods = topo.nodes.flatMap((n) => n.pods.map((p) => ({ ...p, node: n.name })));
    SERVICES.forEach((s, i) => {
      const pod = pods.find((p) => p.name === s.pod)!;
      const manifest = serviceManifest({
        namespace: 'sctp',
        name: s.name,
        clusterIPs: [`198.19.9.${10 + i}`, `fd00:198:18:1::9:${10 + i}`],
        ports: [{ name: 's1ap', port: SERVICE_PORT, targetPort: TARGET, protocol: 'SCTP', nodePort: s.nodePort }],
        endpoints: [pod.ipv4, pod.ipv6].map((addr) => ({ addr, node: pod.node })),
        extraSpec: { type: 'LoadBalancer' },
        status: { loadBalancer: { ingress: [{ ip: s.lbIps.ipv4 }, { ip: s.lbIps.ipv6 }] } },
        annotations: s.mode ? { 'service.cilium.io/forwarding-mode': s.mode } : undefined,
      });
      writeManifest(manifests, `${s.name}.yaml`, manifest);
    });
    for (const n of topo.nodes) agents.push(await startEdgeNodeAgent(n, manifests));
  });

  afterAll(() => tearDownEdgeTest({ agents, servers: responders, topo, dirs: [manifests] }));

  test.each(SERVICES.flatMap((s) => FAMILIES.map((f) => [s.name, f] as const)))(
    `%s %s: ${FLOWS} flows each to the LB IP and to the NodePort, every one answered from the frontend with a right CRC32c`,
    (name, family) => {
      const s = SERVICES.find((x) => x.name === name)!;
      for (const [addr, port, firstSport] of [
        [s.lbIps[family], SERVICE_PORT, 20000],
        [nodeA[family], s.nodePort, 30000],
      ] as const) {
        const out = run('ip', ['netns', 'exec', topo.client.ns, 'python3', SCTP_RAW, 'client', addr, String(port), String(FLOWS), String(firstSport)], 120_000);
        const r = JSON.parse(out.trim().split('\n').pop()!) as ClientResult;
        expect({ addr, port, ...r }).toEqual({ addr, port, sent: FLOWS, answered: FLOWS, backends: { [s.pod]: FLOWS }, wrong_source: 0, bad_crc: 0, garbled: 0, lost: 0 });
      }
      // Nothing of it was dropped on either node, for any reason.
      expect(drops()).toEqual([{}, {}]);
    },
  );

  test("kpr services and kpr flows show node A's SCTP frontends and flows", () => {
    const kpr = (...args: string[]) => JSON.parse(run(KPR, [...args, '--bpf-root', agents[0].root.path, '-o', 'json']));
    // Each service's LB IPs and node A's NodePorts, both families, at the edge.
    const services = kpr('services') as ({ lb: string } & EdgeServiceRow)[];
    const frontends = services.filter((s) => s.lb === 'edge').map((s) => s.frontend);
    for (const s of SERVICES) {
      for (const f of FAMILIES) {
        expect(frontends).toContain(`${f === 'ipv6' ? `[${s.lbIps[f]}]` : s.lbIps[f]}:${SERVICE_PORT}/SCTP`);
        expect(frontends).toContain(`${f === 'ipv6' ? `[${nodeA[f]}]` : nodeA[f]}:${s.nodePort}/SCTP`);
      }
    }
    // Every flow the tests above opened through node A: its backend, whatever the path.
    const flows = kpr('flows') as FlowRow[];
    expect(flows.filter((f) => f.proto === 'SCTP').length).toBe(SERVICES.length * 2 * FAMILIES.length * FLOWS);
  });
});
