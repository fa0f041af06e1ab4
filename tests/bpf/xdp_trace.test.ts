// `kpr trace` and the trace it reads: the edge LB's decisions, through
// BPF_PROG_TEST_RUN, from the ring buffer, with the filters and the lease.
import * as path from 'path';
import { decision, Decision } from '../../lib/datapath/edge/trace';
import { EdgeFrontend, EdgeTrace, loadAddon, repoRoot } from '../../lib/datapath/native';
import { BpfRoot } from '../helpers/bpf_root';
import { LineProcess } from '../helpers/line_process';
import { assertPrivileged } from '../helpers/preflight';
import { sleep } from '../helpers/sleep';
import * as P from './packets';
import { createEdgeFixture, EdgeFixture, openBpfRoot, PEER4, PROG } from './xdp_fixture';

const M = 251;
const VIP = '198.18.100.10';
const CLIENT = '198.19.5.5';
const LOCAL = '198.18.50.1';

function frontend(port: number, svcId: number, extra: Partial<EdgeFrontend> = {}): EdgeFrontend {
  return { addr: VIP, port, proto: 'TCP', svcId, count: 1, affinityTimeout: 0, sourceRanges: false, mode: 'dsr', algorithm: 'maglev', noBackend: 'reject', ...extra };
}

describe('kpr trace', () => {
  let root: BpfRoot;
  let fx: EdgeFixture;
  let trace: EdgeTrace;
  const send = (sport: number, dport = 80, src = CLIENT) => fx.dp.progTestRun(PROG, P.tcpFrame({ src, dst: VIP, sport, dport }), 1, { netns: fx.netns, ifindex: fx.ifindex });
  const decisions = (): Decision[] => trace.poll(100).map(decision).map(({ time, ...d }) => ({ ...d, time: Math.sign(time) }));

  beforeAll(() => assertPrivileged());
  beforeEach(() => {
    fx = undefined as unknown as EdgeFixture;
    root = openBpfRoot('trace');
    fx = createEdgeFixture(root, { maglevTableSize: M });
    fx.dp.updateBackends([
      { id: 1, addr: LOCAL, port: 8080, svcId: 1 },
      { id: 2, addr: '198.18.60.1', port: 8080, svcId: 2, nodeAddr: PEER4 },
    ]);
    fx.dp.setMaglevTable(1, new Array(M).fill(1));
    fx.dp.setMaglevTable(2, new Array(M).fill(2));
    fx.dp.updateFrontends([frontend(80, 1), frontend(81, 2), frontend(82, 3, { count: 0 }), frontend(83, 4, { sourceRanges: true })]);
    trace = loadAddon().openTrace(path.join(root.path, 'kpr', 'maps'));
  });
  afterEach(() => {
    try {
      trace?.close();
      fx?.destroy();
    } finally {
      root?.destroy();
    }
  });

  test('every decision: the pick, the path, the backend, drops and rejects with their reason', () => {
    trace.start({ leaseMs: 10_000 });
    send(41000);
    send(41000);
    send(41001, 81);
    send(41002, 82);
    send(41003, 83);
    const common = { time: 1, client: `${CLIENT}:0`, svcId: 0 };
    const got = decisions();
    expect(got.map(({ client, ...d }) => ({ ...d, client: client.replace(/:\d+$/, ':0') }))).toEqual([
      { ...common, svcId: 1, frontend: `${VIP}:80/TCP`, backend: `${LOCAL}:8080`, pick: 'maglev', path: 'local', action: 'pass' },
      { ...common, svcId: 1, frontend: `${VIP}:80/TCP`, backend: `${LOCAL}:8080`, pick: 'flow', path: 'local', action: 'pass' },
      { ...common, svcId: 2, frontend: `${VIP}:81/TCP`, backend: '198.18.60.1:8080', pick: 'maglev', path: 'dsr', action: 'tx' },
      { ...common, svcId: 3, frontend: `${VIP}:82/TCP`, pick: 'none', path: 'none', action: 'tx', reason: 'no_service_backend' },
      { ...common, svcId: 4, frontend: `${VIP}:83/TCP`, pick: 'none', path: 'none', action: 'drop', reason: 'source_range_denied' },
    ]);
    expect(trace.lost()).toBe(0);
  });

  test('filters: one frontend (by address, port and protocol), one client', () => {
    trace.start({ frontend: { addr: VIP, port: 81, proto: 'TCP' }, leaseMs: 10_000 });
    send(42000);
    send(42001, 81);
    expect(decisions().map((d) => d.frontend)).toEqual([`${VIP}:81/TCP`]);
    trace.start({ client: '198.19.5.6', leaseMs: 10_000 });
    send(42002);
    send(42003, 80, '198.19.5.6');
    expect(decisions().map((d) => d.client)).toEqual(['198.19.5.6:42003']);
  });

  test('stopped, or its lease run out, the trace records nothing', async () => {
    trace.start({ leaseMs: 10_000 });
    trace.stop();
    send(43000);
    expect(decisions()).toEqual([]);
    trace.start({ leaseMs: 100 });
    await sleep(300);
    send(43001);
    expect(decisions()).toEqual([]);
  });

  test('a new session shows none of what an earlier one left unread', async () => {
    // The first reader ends (as kpr trace --count does) with decisions still in the ring.
    trace.start({ leaseMs: 10_000 });
    send(44000);
    send(44001);
    trace.stop();
    trace.close();
    // A new tick of the coarse clock, as between two commands.
    await sleep(20);
    trace = loadAddon().openTrace(path.join(root.path, 'kpr', 'maps'));
    trace.start({ leaseMs: 10_000 });
    send(44002);
    expect(decisions().map((d) => d.client)).toEqual([`${CLIENT}:44002`]);
  });

  test('the command: JSON lines, stopping after --count', async () => {
    const kpr = new LineProcess('kpr trace', path.join(repoRoot(), 'bin', 'kpr'), ['trace', '--bpf-root', root.path, '--frontend', `${VIP}:80`, '--count', '2', '-o', 'json']);
    await kpr.waitForLine('tracing', (l) => l.startsWith('tracing'), 10_000);
    for (let i = 0; i < 3; i++) send(44000 + i);
    send(44010, 81);
    const status = await kpr.waitForExit(10_000);
    expect(status.code).toBe(0);
    const lines = kpr.stdoutLines.map((l) => JSON.parse(l) as Decision);
    expect(lines.map((d) => [d.client, d.pick])).toEqual([
      [`${CLIENT}:44000`, 'maglev'],
      [`${CLIENT}:44001`, 'maglev'],
    ]);
    expect(kpr.lines).toContain('2 decisions');
  });
});
