// The e2e control plane itself: a real kube-apiserver and etcd on loopback
// take Nodes, dual-stack Services and EndpointSlices, allocate ClusterIPs only
// from the test ranges, and keep everything across an apiserver restart.
import * as net from 'net';
import * as k8s from '@kubernetes/client-node';
import { Cluster, SERVICE_CIDRS, startCluster } from './cluster';

jest.setTimeout(180_000);

const NAMESPACE = 'smoke';
const NODE = 'kpr-node-1';

/** Where every address of a test may be: 198.18.0.0/15 and fd00:198:18::/48. */
const TEST_RANGES = new net.BlockList();
TEST_RANGES.addSubnet('198.18.0.0', 15, 'ipv4');
TEST_RANGES.addSubnet('fd00:198:18::', 48, 'ipv6');

function inCidr(addr: string, cidr: string): boolean {
  const [base, bits] = cidr.split('/');
  const family = net.isIPv6(base) ? 'ipv6' : 'ipv4';
  const list = new net.BlockList();
  list.addSubnet(base, Number(bits), family);
  return net.isIP(addr) !== 0 && list.check(addr, net.isIPv6(addr) ? 'ipv6' : 'ipv4');
}

function inTestRanges(addr: string): boolean {
  return TEST_RANGES.check(addr, net.isIPv6(addr) ? 'ipv6' : 'ipv4');
}

describe('e2e control plane (kube-apiserver + etcd on loopback)', () => {
  let cluster: Cluster;
  let core: k8s.CoreV1Api;
  let discovery: k8s.DiscoveryV1Api;

  beforeAll(async () => {
    cluster = await startCluster({ prefix: 'smoke' });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
    discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  const slice = (name: string, addressType: 'IPv4' | 'IPv6', addresses: string[]): k8s.V1EndpointSlice => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace: NAMESPACE,
      labels: { 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'kpr-e2e' },
    },
    addressType,
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready: true }, nodeName: NODE })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  });

  /** Everything the tests made, as read back from the apiserver. */
  async function readBack() {
    const node = await core.readNode({ name: NODE });
    const svc = await core.readNamespacedService({ namespace: NAMESPACE, name: 'web' });
    const slices = await discovery.listNamespacedEndpointSlice({
      namespace: NAMESPACE,
      labelSelector: 'kubernetes.io/service-name=web',
    });
    return {
      node: { name: node.metadata?.name, podCIDRs: node.spec?.podCIDRs },
      clusterIPs: svc.spec?.clusterIPs,
      slices: slices.items
        .map((s) => ({ name: s.metadata?.name, addresses: s.endpoints.flatMap((e) => e.addresses) }))
        .sort((a, b) => (a.name ?? '').localeCompare(b.name ?? '')),
    };
  }

  let before: Awaited<ReturnType<typeof readBack>>;

  test('the apiserver serves the admin kubeconfig and its own service lies in the test range', async () => {
    // The apiserver creates its own service from a controller loop, a moment
    // after it reports ready.
    let svc: k8s.V1Service | undefined;
    for (let i = 0; i < 50 && !svc; i++) {
      svc = await core.readNamespacedService({ namespace: 'default', name: 'kubernetes' }).catch(() => undefined);
      if (!svc) await new Promise((r) => setTimeout(r, 200));
    }
    expect(svc?.spec?.clusterIP).toBe('198.19.0.1');
  });

  test('Nodes, dual-stack Services and EndpointSlices are created and read back', async () => {
    await core.createNode({
      body: {
        metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE } },
        spec: { podCIDRs: ['198.18.0.0/24', 'fd00:198:18::/64'], podCIDR: '198.18.0.0/24' },
      },
    });
    await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
    const created = await core.createNamespacedService({
      namespace: NAMESPACE,
      body: {
        metadata: { name: 'web', namespace: NAMESPACE },
        spec: {
          type: 'ClusterIP',
          ipFamilyPolicy: 'RequireDualStack',
          ipFamilies: ['IPv4', 'IPv6'],
          ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }],
        },
      },
    });
    const ips = created.spec?.clusterIPs ?? [];
    expect(ips).toHaveLength(2);
    expect(inCidr(ips[0], SERVICE_CIDRS[0])).toBe(true);
    expect(inCidr(ips[1], SERVICE_CIDRS[1])).toBe(true);
    expect(ips.every(inTestRanges)).toBe(true);
    await discovery.createNamespacedEndpointSlice({ namespace: NAMESPACE, body: slice('web-v4', 'IPv4', ['198.18.0.11', '198.18.0.12']) });
    await discovery.createNamespacedEndpointSlice({ namespace: NAMESPACE, body: slice('web-v6', 'IPv6', ['fd00:198:18::11']) });

    before = await readBack();
    expect(before).toEqual({
      node: { name: NODE, podCIDRs: ['198.18.0.0/24', 'fd00:198:18::/64'] },
      clusterIPs: ips,
      slices: [
        { name: 'web-v4', addresses: ['198.18.0.11', '198.18.0.12'] },
        { name: 'web-v6', addresses: ['fd00:198:18::11'] },
      ],
    });
  });

  test('a ClusterIP outside the service ranges is refused', async () => {
    await expect(
      core.createNamespacedService({
        namespace: NAMESPACE,
        body: { metadata: { name: 'outside' }, spec: { clusterIP: '198.18.5.5', ports: [{ port: 80 }] } },
      }),
    ).rejects.toMatchObject({ code: 422 });
  });

  test('the objects survive an apiserver restart on the same port and etcd', async () => {
    expect(before).toBeDefined();
    await cluster.stopApiServer();
    await expect(core.readNode({ name: NODE })).rejects.toThrow(/ECONNREFUSED/);
    await cluster.startApiServer();
    expect(await readBack()).toEqual(before);
  });
});
