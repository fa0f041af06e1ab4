import { Registry } from 'prom-client';
import { EdgeState } from '../../lib/datapath/edge/programmed';
import { EdgeFrontend, EdgeStats, ServiceSlot, ServiceStats } from '../../lib/datapath/native';
import { socketState } from '../../lib/datapath/socket/programmed';
import { EDGE_DROP_REASONS } from '../../lib/datapath/reasons';
import { EdgeLbMetrics, edgeMapCapacities, flowHits } from '../../lib/datapath/edge/metrics';
import { SocketLbMetrics, socketMapCapacities } from '../../lib/datapath/socket/metrics';
import { backendsRange, backendsRanges, DatapathMetrics, servicePortName } from '../../lib/metrics/datapath_metrics';
import { ExternalFrontend, Frontend } from '../../lib/model/frontend';
import { ProgramPlace } from '../../lib/sync/attachment_repair';

const VIP = '198.18.10.1';

/** Two socket frontends: web (2 backends, 1000 translations) and db (no backend). */
function sampleSocketState() {
  const slot = (addr: string, s: number, svcId: number, backendId: number, count: number): ServiceSlot => ({ addr, port: 80, proto: 'TCP', slot: s, svcId, backendId, count, affinityTimeout: 0 });
  const state = socketState(
    [slot(VIP, 0, 1, 0, 2), slot(VIP, 1, 1, 1, 0), slot(VIP, 2, 1, 2, 0), slot('198.18.10.2', 0, 2, 0, 0)],
    [
      { id: 1, addr: '198.18.20.1', port: 8080, svcId: 1 },
      { id: 2, addr: '198.18.20.2', port: 8080, svcId: 1 },
    ],
  );
  const source = (serviceName: string, portName: string) => ({ serviceName, portName }) as Frontend;
  state.frontends.get(`${VIP}|80|TCP`)!.source = source('test/web', 'http');
  state.frontends.get('198.18.10.2|80|TCP')!.source = source('test/db', '');
  return state;
}

/** One edge service of two frontends, 3 backends, a Maglev table and a source range. */
function edgeState(): EdgeState {
  const fe = (addr: string): EdgeFrontend => ({ addr, port: 30080, proto: 'TCP', svcId: 7, count: 3, affinityTimeout: 0, sourceRanges: true, mode: 'dsr', algorithm: 'maglev', noBackend: 'reject' });
  const backends = new Map([1, 2, 3].map((id) => [id, { id, addr: `198.18.20.${id}`, port: 8080, svcId: 7 }]));
  return {
    services: new Map([
      [7, { svcId: 7, backends, frontends: new Map([['a', fe('198.18.0.1')], ['b', fe('198.18.0.2')]]), ranges: new Set(['198.19.0.0/16']), tableExists: true, source: [{ serviceName: 'test/web', portName: 'http', addr: '198.18.0.1' } as ExternalFrontend] }],
    ]),
    ids: new Map(),
  };
}

function setup(perService: boolean, edgeDrops: number[] = []) {
  const registry = new Registry();
  const m = new DatapathMetrics(registry, perService);
  const stats: ServiceStats[] = [{ svcId: 1, translations: 1000 }, { svcId: 9, translations: 5 }];
  const edgeStats: EdgeStats[] = [{ svcId: 7, packets: 100, bytes: 6400 }];
  const drops = Array.from({ length: 16 }, (_, i) => edgeDrops[i] ?? 0);
  const edge = { misses: 10 };
  const capacities = { frontendMax: 64, backendMax: 64, flowMax: 256, affinityMax: 64, sourceRangeMax: 64, snatMax: 256, fragmentMax: 32 };
  m.readFrom([
    new SocketLbMetrics({ maps: { readServiceStats: () => stats, readDrops: () => [3, 0, 1, 0, 0, 0, 0, 0] }, programmed: sampleSocketState, capacities: socketMapCapacities({ lbMapMax: 128, revNatMapMax: 512 }) }),
    new EdgeLbMetrics({ maps: { readStats: () => edgeStats, readDrops: () => drops, readFlowMisses: () => edge.misses }, programmed: edgeState, capacities: edgeMapCapacities(capacities) }),
  ]);
  const scrape = async () => {
    m.collect();
    return registry.metrics();
  };
  return { m, scrape, edgeStats, edge };
}

describe('kpr_* metrics', () => {
  test('traffic counters are the datapath totals, whatever frontend they were for', async () => {
    const text = await (await setup(false)).scrape();
    expect(text).toContain('kpr_socket_lb_translations_total 1005');
    expect(text).toContain('kpr_edge_lb_packets_total 100');
    expect(text).toContain('kpr_edge_lb_bytes_total 6400');
    expect(text).not.toContain('service=');
  });

  test('drops by reason: every named reason of both datapaths, an unnamed one once it counts', async () => {
    const drops = [];
    drops[EDGE_DROP_REASONS.indexOf('fib_lookup_failed')] = 4;
    drops[14] = 2;
    const text = await setup(false, drops).scrape();
    expect(text).toContain('kpr_drops_total{datapath="socket",reason="no_backend"} 3');
    expect(text).toContain('kpr_drops_total{datapath="socket",reason="revnat_full"} 1');
    expect(text).toContain('kpr_drops_total{datapath="socket",reason="backend_missing"} 0');
    expect(text).toContain('kpr_drops_total{datapath="edge",reason="fib_lookup_failed"} 4');
    expect(text).toContain('kpr_drops_total{datapath="edge",reason="reason_14"} 2');
    expect(text).not.toContain('reason="reason_13"');
    expect(text.match(/^kpr_drops_total\{datapath="edge"/gm)).toHaveLength(EDGE_DROP_REASONS.length + 1);
  });

  test('programmed frontends and backends, and frontends by backend count range', async () => {
    const text = await setup(false).scrape();
    expect(text).toContain('kpr_frontends{datapath="socket"} 2');
    expect(text).toContain('kpr_backends{datapath="socket"} 2');
    expect(text).toContain('kpr_frontends{datapath="edge"} 2');
    expect(text).toContain('kpr_backends{datapath="edge"} 3');
    expect(text).toContain('kpr_frontends_by_backends{datapath="socket",backends="0"} 1');
    expect(text).toContain('kpr_frontends_by_backends{datapath="socket",backends="2-3"} 1');
    expect(text).toContain('kpr_frontends_by_backends{datapath="edge",backends="2-3"} 2');
    expect(text).toContain('kpr_frontends_by_backends{datapath="edge",backends="1024+"} 0');
  });

  test('map entries from what the agent wrote; capacities of every map, LRU maps included', async () => {
    const text = await setup(false).scrape();
    // web: master + 2 slots; db: master.
    expect(text).toContain('kpr_bpf_map_entries{map="kpr_services"} 4');
    expect(text).toContain('kpr_bpf_map_entries{map="kpr_backends"} 2');
    expect(text).toContain('kpr_bpf_map_entries{map="kpr_edge_frontends"} 2');
    expect(text).toContain('kpr_bpf_map_entries{map="kpr_edge_backends"} 3');
    expect(text).toContain('kpr_bpf_map_entries{map="kpr_edge_maglev"} 1');
    expect(text).toContain('kpr_bpf_map_entries{map="kpr_edge_source_ranges"} 1');
    expect(text).not.toMatch(/kpr_bpf_map_entries\{map="kpr_(edge_flows4|revnat|affinity)"\}/);
    expect(text).toContain('kpr_bpf_map_capacity{map="kpr_services"} 128');
    expect(text).toContain('kpr_bpf_map_capacity{map="kpr_revnat"} 512');
    expect(text).toContain('kpr_bpf_map_capacity{map="kpr_edge_flows6"} 256');
    expect(text).toContain('kpr_bpf_map_capacity{map="kpr_edge_snat"} 256');
    expect(text).toContain('kpr_bpf_map_capacity{map="kpr_edge_fragments"} 32');
  });

  test('flow lookups: misses as counted, hits derived and never going back', async () => {
    const s = setup(false, [5, 2]); // 5 without backend, 2 denied: never looked up
    expect(await s.scrape()).toContain('kpr_edge_lb_flow_lookups_total{result="hit"} 83');
    expect(await s.scrape()).toContain('kpr_edge_lb_flow_lookups_total{result="miss"} 10');
    s.edge.misses = 12; // read before a packet count that has not caught up yet
    expect(await s.scrape()).toContain('kpr_edge_lb_flow_lookups_total{result="hit"} 83');
    s.edgeStats[0].packets = 110;
    expect(await s.scrape()).toContain('kpr_edge_lb_flow_lookups_total{result="hit"} 91');
    expect(flowHits(10, 20, [], 3)).toBe(3);
  });

  test('--metrics-per-service: per service port, by frontend (socket) and family (edge)', async () => {
    const text = await setup(true).scrape();
    expect(text).toContain('kpr_socket_lb_service_translations_total{service="test/web:http",frontend="198.18.10.1:80/TCP"} 1000');
    expect(text).toContain('kpr_socket_lb_service_translations_total{service="test/db",frontend="198.18.10.2:80/TCP"} 0');
    expect(text).toContain('kpr_edge_lb_service_packets_total{service="test/web:http",ip_family="IPv4"} 100');
    expect(text).toContain('kpr_edge_lb_service_bytes_total{service="test/web:http",ip_family="IPv4"} 6400');
    expect(text).toContain('kpr_socket_lb_translations_total 1005');
  });

  test('program attach state as read at each scrape, re-attachments, and Maglev builds', async () => {
    const s = setup(false);
    let places: ProgramPlace[] | undefined = [
      { program: 'kpr_connect4', attachPoint: '/sys/fs/cgroup', attached: true },
      { program: 'kpr_xdp_lb', attachPoint: 'eth9', attached: false },
      { program: 'kpr_xdp_lb', attachPoint: 'eth8', attached: true },
    ];
    s.m.attachmentsFrom(() => places);
    s.m.maglevBuilt(0.0003);
    s.m.maglevBuilt(0.002);
    let text = await s.scrape();
    expect(text).toContain('kpr_bpf_program_attached{program="kpr_connect4",attach_point="/sys/fs/cgroup"} 1');
    expect(text).toContain('kpr_bpf_program_attached{program="kpr_xdp_lb",attach_point="eth9"} 0');
    // Every wanted program has its re-attachment series before its first repair.
    expect(text).toContain('kpr_bpf_program_reattachments_total{program="kpr_xdp_lb",attach_point="eth9"} 0');
    s.m.programReattached('kpr_xdp_lb', 'eth9');
    places = [
      { program: 'kpr_connect4', attachPoint: '/sys/fs/cgroup', attached: true },
      { program: 'kpr_xdp_lb', attachPoint: 'eth9', attached: true },
    ];
    text = await s.scrape();
    expect(text).toContain('kpr_bpf_program_attached{program="kpr_xdp_lb",attach_point="eth9"} 1');
    expect(text).toContain('kpr_bpf_program_reattachments_total{program="kpr_xdp_lb",attach_point="eth9"} 1');
    expect(text).toContain('kpr_bpf_program_reattachments_total{program="kpr_connect4",attach_point="/sys/fs/cgroup"} 0');
    // A device no longer wanted loses its gauge; a kernel that could not be read leaves the last reading.
    expect(text).not.toContain('kpr_bpf_program_attached{program="kpr_xdp_lb",attach_point="eth8"}');
    places = undefined;
    expect(await s.scrape()).toContain('kpr_bpf_program_attached{program="kpr_xdp_lb",attach_point="eth9"} 1');
    expect(text).toContain('kpr_maglev_table_builds_total 2');
    expect(text).toContain('kpr_maglev_table_build_duration_seconds_bucket{le="0.0004"} 1');
    expect(text).toContain('kpr_maglev_table_build_duration_seconds_count 2');
  });

  test('a datapath without a plan yet keeps its counters; the last plan stands in after a failed sync', async () => {
    const registry = new Registry();
    const m = new DatapathMetrics(registry, false);
    let plan: ReturnType<typeof sampleSocketState> | undefined;
    m.readFrom([new SocketLbMetrics({ maps: { readServiceStats: () => [], readDrops: () => [] }, programmed: () => plan, capacities: {} })]);
    m.collect();
    expect(await registry.metrics()).not.toContain('kpr_frontends{');
    plan = sampleSocketState();
    m.collect();
    plan = undefined;
    m.collect();
    expect(await registry.metrics()).toContain('kpr_frontends{datapath="socket"} 2');
  });

  test('backend count ranges are powers of two, bounded', () => {
    expect([0, 1, 2, 3, 4, 7, 8, 1023, 1024, 100_000].map(backendsRange)).toEqual(['0', '1', '2-3', '2-3', '4-7', '4-7', '8-15', '512-1023', '1024+', '1024+']);
    expect(backendsRanges()).toHaveLength(12);
    expect(servicePortName({ serviceName: 'ns/a', portName: '' })).toBe('ns/a');
    expect(servicePortName({ serviceName: 'ns/a', portName: 'dns' })).toBe('ns/a:dns');
  });
});
