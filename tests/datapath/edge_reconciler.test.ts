// The edge control plane against the real maps: a desired state from
// Services, EndpointSlices and Nodes, synced through the loaded xdp_lb.o in a
// private bpf root, and the pinned maps read back with bpftool.
import * as path from 'path';
import { EdgeReconciler } from '../../lib/datapath/edge/reconciler';
import { computeMaglev } from '../../lib/datapath/edge/maglev';
import { EdgeMaps, loadAddon } from '../../lib/datapath/native';
import { nodeAddresses } from '../../lib/model/backend_location';
import { desiredFrontends } from '../../lib/model/desired';
import { FORWARDING_MODE_ANNOTATION } from '../../lib/model/forwarding_mode';
import { EndpointSlice, Node, Service } from '../../lib/model/objects';
import { SERVICE_NAME_LABEL } from '../../lib/model/service_slices';
import { edgeOptions, openBpfRoot } from '../bpf/xdp_fixture';
import { BpfRoot } from '../helpers/bpf_root';
import { assertPrivileged } from '../helpers/preflight';
import { readBackends, readFrontends, readMaglevTables, readSourceRanges } from './edge_maps';

const M = 251;
const SEED = 7;
const meta = (name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}) => ({ name, namespace: 'default', labels, annotations });

const THIS_NODE = { name: 'node-a', labels: {}, addresses: ['198.18.0.1', 'fd00:198:18::1'], interfaceAddresses: [] };
const NODES: Node[] = [
  { metadata: { ...meta('node-b'), namespace: '' }, status: { addresses: [{ type: 'InternalIP', address: '198.18.0.2' }, { type: 'InternalIP', address: 'fd00:198:18::2' }] } },
];

const web: Service = {
  metadata: meta('web', {}, { [FORWARDING_MODE_ANNOTATION]: 'dsr' }),
  spec: { type: 'NodePort', clusterIPs: ['198.19.0.10', 'fd00:198:19::10'], ports: [{ port: 80, nodePort: 30080 }] },
};
const lb: Service = {
  metadata: meta('lb'),
  spec: { type: 'LoadBalancer', clusterIP: '198.19.0.20', ports: [{ port: 443, protocol: 'UDP' }], loadBalancerSourceRanges: ['198.18.64.0/18'] },
  status: { loadBalancer: { ingress: [{ ip: '198.18.200.1' }] } },
};

function webSlices(v4: string[]): EndpointSlice[] {
  const endpoints = (addrs: string[]) => addrs.map((a, i) => ({ address: a, nodeName: i % 2 === 0 ? 'node-a' : 'node-b' }));
  return [
    { metadata: meta('web-4', { [SERVICE_NAME_LABEL]: 'web' }), addressType: 'IPv4', endpoints: endpoints(v4), ports: [{ port: 8080 }] },
    { metadata: meta('web-6', { [SERVICE_NAME_LABEL]: 'web' }), addressType: 'IPv6', endpoints: endpoints(['fd00:198:18:1::1', 'fd00:198:18:1::2']), ports: [{ port: 8080 }] },
  ];
}
const lbSlice: EndpointSlice = { metadata: meta('lb-1', { [SERVICE_NAME_LABEL]: 'lb' }), addressType: 'IPv4', endpoints: [{ address: '198.18.2.1', nodeName: 'node-b' }], ports: [{ port: 8443, protocol: 'UDP' }] };

const CONFIG = { nodePortAddresses: [], lbMode: 'snat' as const, lbAlgorithm: 'maglev' as const, lbSourceRangeAllTypes: false, externalClusterIP: false, localhostNodePorts: false, podPath: false };
const edge = (services: Service[], slices: EndpointSlice[]) => desiredFrontends(services, slices, THIS_NODE, CONFIG, nodeAddresses(NODES)).edgeFrontends;

describe('edge reconciler on the real maps', () => {
  let root: BpfRoot;
  let mapDir: string;
  let close: () => void;
  let maps: EdgeMaps;
  const reconciler = () =>
    new EdgeReconciler(maps, {
      limits: { frontendMax: 64, backendMax: 64, sourceRangeMax: 64 },
      noBackend: 'drop',
      maglev: (backends) => computeMaglev({ backends, size: M, seed: SEED }),
    });

  beforeAll(() => assertPrivileged());
  beforeEach(() => {
    root = openBpfRoot('edge-cp');
    mapDir = path.join(root.path, 'kpr', 'maps');
    const dp = loadAddon().openEdgeDatapath(edgeOptions(mapDir, { frontendMax: 64, backendMax: 64, maglevTableSize: M }));
    close = () => dp.close();
    maps = dp;
  });
  afterEach(() => {
    close();
    root.destroy();
  });

  /** Frontend "addr:port/proto" -> its entry and its table's backends, as the kernel holds them. */
  function programmed() {
    const backends = new Map(readBackends(mapDir).map((b) => [b.id, b]));
    const tables = readMaglevTables(mapDir);
    const ranges = readSourceRanges(mapDir);
    const out: Record<string, unknown> = {};
    for (const f of readFrontends(mapDir)) {
      const table = tables.get(f.svcId) ?? [];
      expect(table.length).toBe(f.count === 0 ? 0 : M);
      const names = [...new Set(table)].map((id) => backends.get(id)).map((b) => `${b?.addr}:${b?.port}${b?.nodeAddr ? ` via ${b.nodeAddr}` : ''}`);
      out[`${f.addr}:${f.port}/${f.proto}`] = {
        count: f.count,
        flags: `${f.mode} ${f.algorithm} ${f.noBackend}${f.sourceRanges ? ' ranges' : ''}`,
        backends: names.sort(),
        ranges: ranges.filter((r) => r.svcId === f.svcId).map((r) => r.cidr),
      };
    }
    return out;
  }

  test('sync, change, adopt, remove: the pinned maps hold exactly the desired state', () => {
    const rec = reconciler();
    const first = rec.sync(edge([web, lb], [...webSlices(['198.18.1.1', '198.18.1.2']), lbSlice]));
    expect(first).toMatchObject({ services: 3, frontends: 3, backends: 5, skipped: [] });
    expect(programmed()).toEqual({
      '198.18.0.1:30080/TCP': { count: 2, flags: 'dsr maglev drop', backends: ['198.18.1.1:8080', '198.18.1.2:8080 via 198.18.0.2'], ranges: [] },
      'fd00:198:18::1:30080/TCP': { count: 2, flags: 'dsr maglev drop', backends: ['fd00:198:18:1::1:8080', 'fd00:198:18:1::2:8080 via fd00:198:18::2'], ranges: [] },
      '198.18.200.1:443/UDP': { count: 1, flags: 'snat maglev drop ranges', backends: ['198.18.2.1:8443 via 198.18.0.2'], ranges: ['198.18.64.0/18'] },
    });
    // The table is computeMaglev's over the canonical names, as every node builds it.
    const webFe = readFrontends(mapDir).find((f) => f.addr === '198.18.0.1');
    const ids = new Map(readBackends(mapDir).map((b) => [`${b.addr}:${b.port}`, b.id]));
    const expected = computeMaglev({ backends: ['198.18.1.1:8080', '198.18.1.2:8080'], size: M, seed: SEED });
    expect(readMaglevTables(mapDir).get(webFe?.svcId as number)).toEqual(Array.from(expected.table, (i) => ids.get(expected.backends[i])));

    // One backend goes: a new table, the backend deleted, the service id kept.
    rec.sync(edge([web, lb], [...webSlices(['198.18.1.1']), lbSlice]));
    expect(programmed()['198.18.0.1:30080/TCP']).toEqual({ count: 1, flags: 'dsr maglev drop', backends: ['198.18.1.1:8080'], ranges: [] });
    expect(readFrontends(mapDir).find((f) => f.addr === '198.18.0.1')?.svcId).toBe(webFe?.svcId);
    expect(readBackends(mapDir).map((b) => b.addr)).not.toContain('198.18.1.2');

    // A restarted agent adopts what is pinned: nothing to write.
    const desired = edge([web, lb], [...webSlices(['198.18.1.1']), lbSlice]);
    expect(reconciler().sync(desired).writes).toBe(0);

    // The load balancer service goes: its frontend, range, table and backend with it.
    const before = programmed();
    rec.sync(edge([web], webSlices(['198.18.1.1'])));
    const { ['198.18.200.1:443/UDP']: _gone, ...rest } = before as Record<string, unknown>;
    expect(programmed()).toEqual(rest);
    expect(readSourceRanges(mapDir)).toEqual([]);
    expect(readMaglevTables(mapDir).size).toBe(2);
    expect(readBackends(mapDir).map((b) => b.addr).sort()).toEqual(['198.18.1.1', 'fd00:198:18:1::1', 'fd00:198:18:1::2']);
  });
});
