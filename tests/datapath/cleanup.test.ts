// kpr cleanup (kube-proxy's --cleanup) after a real agent: node A's agent
// ran with its edge LB on the node's device, the per-packet path on its
// pod's interface, a DSR service whose backend is on node B (a managed
// neighbour entry) and its socket LB on its cgroup. Once the agent stopped,
// `kpr cleanup` in node A's namespace says what it takes away, and after it
// nothing of kpr is left there; run again, it finds nothing.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { EdgeNodeAgent, startEdgeNodeAgent } from '../helpers/agent';
import { createEdgeTopology, EdgeNode, EdgeTopology } from '../helpers/edge_topology';
import { tearDownEdgeTest } from '../helpers/edge_teardown';
import { nodeManifest, serviceManifest, writeManifest } from '../helpers/manifests';
import { assertPrivileged } from '../helpers/preflight';
import { ip, run } from '../helpers/run';

jest.setTimeout(120_000);

const KPR = path.join(repoRoot(), 'bin', 'kpr');

describe('kpr cleanup: nothing of kpr is left on the node', () => {
  let topo: EdgeTopology;
  let nodeA: EdgeNode;
  let manifests: string;
  const agents: EdgeNodeAgent[] = [];
  const inNodeA = (...args: string[]) => run('nsenter', [`--net=/run/netns/${nodeA.ns}`, KPR, ...args]);
  /** What of kpr node A's namespace holds: programs on devices, managed neighbours. */
  const kprOnNode = () => ({
    xdp: ip('-n', nodeA.ns, 'link', 'show', nodeA.device).includes('prog/xdp'),
    tc: ['eth0', 'a1'].flatMap((dev) => ['ingress', 'egress'].filter((dir) => run('tc', ['-n', nodeA.ns, 'filter', 'show', 'dev', dev, dir]).includes('kpr_'))),
    neighbours: ip('-n', nodeA.ns, 'neigh', 'show').split('\n').filter((l) => l.includes('managed')).length,
  });

  beforeAll(async () => {
    assertPrivileged();
    topo = createEdgeTopology('clean', 1);
    nodeA = topo.nodes[0];
    manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-clean-'));
    for (const n of topo.nodes) writeManifest(manifests, `${n.name}.yaml`, nodeManifest(n.name, [n.ipv4, n.ipv6]));
    const b1 = topo.nodes[1].pods[0];
    writeManifest(
      manifests,
      'svc.yaml',
      serviceManifest({
        namespace: 'clean',
        name: 'remote',
        clusterIPs: ['198.19.9.90'],
        ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30990 }],
        endpoints: [{ addr: b1.ipv4, node: topo.nodes[1].name }],
        extraSpec: { type: 'NodePort' },
      }),
    );
    agents.push(await startEdgeNodeAgent(nodeA, manifests, ['--bpf-lb-pod-interfaces', 'auto', '--bpf-lb-mode', 'dsr']));
  });

  afterAll(() => tearDownEdgeTest({ agents, servers: [], topo, dirs: [manifests] }));

  test('after the agent stopped: each program, neighbour entry and pin is taken away and said; then none is left', async () => {
    const agent = agents[0];
    expect(kprOnNode()).toEqual({ xdp: true, tc: ['ingress', 'egress', 'ingress', 'egress'], neighbours: 1 });
    const cgroupHeld = () => run('bpftool', ['cgroup', 'show', agent.cgroup.path]);
    expect(cgroupHeld()).toContain('kpr_connect4');
    await agent.process.stop('SIGTERM');

    const report = JSON.parse(inNodeA('cleanup', '--bpf-root', agent.root.path, '-o', 'json')) as { removed: string[]; errors: string[] };
    expect(report.errors).toEqual([]);
    const devices = report.removed.filter((r) => r.startsWith('xdp ') || r.startsWith('tc ')).sort();
    expect(devices).toEqual(
      ['xdp kpr_xdp_lb on eth0', 'tc ingress kpr_tc_dsr_ingr on eth0', 'tc egress kpr_tc_dsr_egre on eth0', 'tc ingress kpr_tc_pod_ingr on a1', 'tc egress kpr_tc_dsr_egre on a1'].sort(),
    );
    expect(report.removed.filter((r) => r.startsWith('neighbour '))).toEqual([`neighbour ${topo.nodes[1].ipv4} on eth0`]);
    expect(report.removed).toEqual(expect.arrayContaining([`pin ${agent.root.path}/kpr/links/kpr_connect4`, `pin ${agent.root.path}/kpr/maps/kpr_services`, `directory ${agent.root.path}/kpr`]));

    expect(kprOnNode()).toEqual({ xdp: false, tc: [], neighbours: 0 });
    expect(fs.existsSync(path.join(agent.root.path, 'kpr'))).toBe(false);
    // The cgroup links went with their last reference, the pin.
    expect(cgroupHeld()).not.toContain('kpr_');
    expect(inNodeA('cleanup', '--bpf-root', agent.root.path)).toBe('nothing of kpr found\n');
  });
});
