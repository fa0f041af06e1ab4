// The edge packet-rate benchmark's work floors (tests/native/bench_xdp_work.c,
// `xdpgen work`, tests/bench/edge_pps_tools.ts) on a real agent: in place of
// kpr's program on node A and on kpr's own maps, each carries the generator's
// frames for a NodePort to its backend on node B as kpr would (the dsr floor
// through kpr's tunnel, which node B opens; the snat floor with both ends
// rewritten), keeping none of kpr's per-flow state, and gives the device back
// to kpr's program, which balances again, when it stops. The benchmark's
// verdicts rest on that: a floor that forwarded nothing, or did kpr's
// lookups, would say nothing about where kpr's time goes.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { macAddress, passXdp } from '../bench/datapath_topology';
import { arrivedSince, send, startCounter, startWork } from '../bench/edge_pps_tools';
import { CLIENT_SOURCES } from '../bench/flow_rate_topology';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { runClient } from '../helpers/client_runner';
import { createEdgeTopology, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { xdpProgramId } from '../helpers/netns';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';
import { EchoServer, startEchoServer } from '../helpers/servers';
import { FlowRow } from '../../lib/cli/edge_listing';
import { repoRoot } from '../../lib/datapath/native';

jest.setTimeout(120_000);

const KPR = path.join(repoRoot(), 'bin', 'kpr');
const NODE_PORT = 30093;
const TARGET = 5353;
const SECONDS = 1;
/** Far below what the path carries in a second (hundreds of thousands here),
 *  far above anything but the generator's frames. */
const AT_LEAST = 20_000;
const FLOWS = { firstSource: CLIENT_SOURCES.first, addrs: 4, ports: 16 };

describe('the edge benchmark\'s work floors on a real agent', () => {
  let topo: EdgeTopology;
  let manifests: string;
  let clientCgroup: TestCgroup;
  const agents: EdgeNodeAgent[] = [];
  const servers: EchoServer[] = [];

  const nodeA = () => topo.nodes[0];
  const backendPod = () => topo.nodes[1].pods[0];
  const flowsOnA = () => (JSON.parse(run(KPR, ['flows', '--bpf-root', agents[0].root.path, '-o', 'json'])) as FlowRow[]).length;
  const programOnA = () => xdpProgramId(nodeA().ns, nodeA().device);

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('wfloor', 1);
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-wfloor-'));
    clientCgroup = createTestCgroup('wfloor-client');
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    writeManifest(
      manifests,
      'udp.yaml',
      serviceManifest({
        namespace: 'bench',
        name: 'udp',
        clusterIPs: ['198.19.9.10'],
        ports: [{ name: 'p', port: 53, targetPort: TARGET, protocol: 'UDP', nodePort: NODE_PORT }],
        endpoints: [{ addr: backendPod().ipv4, node: topo.nodes[1].name }],
        extraSpec: { type: 'NodePort' },
      }),
    );
    // No full sync while a floor holds the device: it would put kpr's program back.
    for (const n of topo.nodes) agents.push(await startEdgeNodeAgent(n, manifests, ['--bpf-lb-mode', 'dsr', '--sync-period', '24h']));
    // The generator's frames are redirected into the client's link, which a
    // veth takes only when its other end has an XDP program.
    passXdp(topo.switchNs, 'client');
  });

  afterAll(() => tearDownEdgeTest({ agents, servers, topo, clientCgroup, dirs: [manifests] }));

  for (const mode of ['dsr', 'snat'] as const) {
    test(`${mode}: every frame the backend sees came through the floor, which kept no flow; kpr's program is back after and balances`, async () => {
      const kprProgram = programOnA();
      expect(kprProgram).toBeDefined();
      const flowsBefore = flowsOnA();
      const counter = await startCounter(backendPod().ns, 'eth0');
      let arrived: number;
      let sent: number;
      try {
        const work = await startWork(nodeA().ns, nodeA().device, mode);
        try {
          expect(programOnA()).not.toBe(kprProgram);
          const before = await counter.packets();
          sent = (await send(topo.client.ns, 0, FLOWS, { mac: macAddress(nodeA().ns, nodeA().device), addr: nodeA().ipv4, port: NODE_PORT }, SECONDS, 'any')).sent;
          arrived = await arrivedSince(counter, before);
        } finally {
          await work.stop();
        }
      } finally {
        await counter.stop();
      }
      expect(arrived).toBeGreaterThan(AT_LEAST);
      expect(arrived).toBeLessThanOrEqual(sent);
      // kpr itself would have kept every one of the FLOWS.addrs x FLOWS.ports flows.
      const flowsAfter = flowsOnA();
      expect(flowsAfter).toBeLessThanOrEqual(flowsBefore);
      expect(programOnA()).toBe(kprProgram);

      const server = await startEchoServer(backendPod().ns, backendPod().name, { udp: [TARGET] });
      servers.push(server);
      try {
        const r = await runClient({ cgroup: clientCgroup.path, ns: topo.client.ns }, { mode: 'udp', addr: nodeA().ipv4, port: NODE_PORT, count: 20 });
        expect(r.errors).toEqual({});
        expect(r.backends).toEqual({ [backendPod().name]: 20 });
        expect(flowsOnA()).toBeGreaterThan(flowsAfter);
      } finally {
        await server.stop();
        servers.splice(servers.indexOf(server), 1);
      }
    });
  }
});
