// The flow-rate benchmark's reading of each peer's NAT state
// (tests/bench/flow_rate_runs.ts): kpr's metrics text, the kernel's
// per-CPU conntrack statistics and the backend's UDP counters, in the
// formats those sources print.
import { conntrackDrops, failedFraction, FlowRateOutput, keptRate, kprNatState, udpReceiveErrors } from '../bench/flow_rate_runs';

const KPR_METRICS = [
  '# TYPE kpr_drops_total counter',
  'kpr_drops_total{datapath="socket",reason="no_backend"} 4',
  'kpr_drops_total{datapath="edge",reason="fib_lookup_failed"} 2',
  'kpr_drops_total{datapath="edge",reason="snat_no_port"} 234',
  'kpr_drops_total{datapath="edge",reason="snat_map_full"} 6',
  'kpr_bpf_map_entries{map="kpr_edge_snat_ports"} 99',
  'kpr_bpf_map_entries{map="kpr_edge_snat"} 30718',
  'kpr_flow_gc_deleted_total{map="kpr_edge_snat"} 1200',
  'kpr_flow_gc_deleted_total{map="kpr_edge_flows4"} 7',
  '',
].join('\n');

describe('kpr NAT state', () => {
  test('sums the snat_* edge drops, keeps every edge reason, and reads the snat map and its collector, not the ports map', () => {
    expect(kprNatState(KPR_METRICS)).toEqual({ entries: 30718, collected: 1200, drops: 240, byReason: { fib_lookup_failed: 2, snat_no_port: 234, snat_map_full: 6 } });
  });

  test('has no entry count before the collector has finished a pass', () => {
    expect(kprNatState(KPR_METRICS.replace(/^kpr_bpf_map_entries.*$/gm, '')).entries).toBeUndefined();
  });
});

describe('conntrack drops', () => {
  // /proc/net/stat/nf_conntrack of kernel 6.x: a header, then one line of hex per CPU.
  const STAT = [
    'entries  clashres found     new      invalid  ignore   delete   chainlength insert   insert_failed drop     early_drop icmp_error  expect_new expect_create expect_delete search_restart drop_by_timeout',
    '0000a000  00000000 00000000 00000000 00000003 00000000 00000000 00000000 00000000 00000010 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000',
    '0000a000  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 0000000a 00000000 00000002 00000000 00000000 00000000 00000000 00000000 00000000',
  ].join('\n');

  test('adds the CPUs up, in hex, for the counters that lose a new connection', () => {
    expect(conntrackDrops(STAT)).toEqual({ insert_failed: 26, drop: 1, early_drop: 2 });
  });

  test('a kernel without one of them is an error naming it', () => {
    expect(() => conntrackDrops(STAT.replace('early_drop', 'other'))).toThrow('no early_drop column');
  });
});

test("the backend's UDP receive errors come from the Udp lines of /proc/net/snmp", () => {
  const snmp = [
    'Tcp: RtoAlgorithm RtoMin',
    'Tcp: 1 200',
    'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
    'Udp: 100 0 7 100 5 0 0 0 0',
    'UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
    'UdpLite: 0 0 0 0 9 0 0 0 0',
  ].join('\n');
  expect(udpReceiveErrors(snmp)).toBe(5);
});

describe('a run', () => {
  const out = (o: Partial<FlowRateOutput>): FlowRateOutput => ({
    proto: 'udp', rate: 1000, seconds: 10, scheduled: 10_000, attempted: 10_000, ok: 10_000, failed: 0, firstError: '', errors: {},
    achievedRate: 1000, maxLagMs: 3, elapsed: 10, perSecond: { ok: [], failed: [] }, ...o,
  });

  test('kept its rate only when every scheduled flow was opened', () => {
    expect(keptRate(out({}))).toBe(true);
    expect(keptRate(out({ attempted: 9_999, ok: 9_999 }))).toBe(false);
  });

  test('fails by the share of the flows it opened; none opened is all failed', () => {
    expect(failedFraction(out({ ok: 9_990, failed: 10 }))).toBeCloseTo(0.001);
    expect(failedFraction(out({ attempted: 0, ok: 0 }))).toBe(1);
  });
});
