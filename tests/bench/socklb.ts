// Benchmark (make bench), not a test: connect() rate through a kpr ClusterIP
// against a direct connection to the same single backend, measured in
// alternating rounds in the same run. The client is in the test network
// namespace; "direct, kpr cgroup" runs in the cgroup that kpr's programs are
// attached to (they look the address up and find no service); "direct, no
// kpr" in a sibling test cgroup made the same way with nothing attached, so
// that the two differ by kpr's programs alone; "direct, outside any test
// cgroup" where the benchmark itself runs (how the bench measured before:
// it differs in the way the client is started and placed, too).
// Writes bench_result.ts's rows (--json PATH overrides the file).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { createTopology } from '../helpers/topology';
import { createTestCgroup } from '../helpers/cgroup';
import { createBpfRoot } from '../helpers/bpf_root';
import { startAgent } from '../helpers/agent';
import { serviceManifest, writeManifest } from '../helpers/manifests';
import { LineProcess } from '../helpers/line_process';
import { Place, runInPlace } from '../helpers/client_runner';
import { BenchRow, jsonPath, newResult, writeResult } from './bench_result';
import { describeMachine } from './machine';
import { median, ofRounds } from './stats';
import { attachedProgStats, enableBpfStats, nsPerRun, ProgRunStats } from './hook_cost';

// Many short rounds in rotating order: a slow stretch of the shared VM then
// hits every series alike instead of whichever happened to run in it.
const ROUNDS = 15;
const ROUND_SECONDS = 1;
const MAX_CONNECTS_PER_ROUND = 5_000_000;
const CLUSTER_IP = '198.19.0.20';
const PORT = 8080;
const BUILD = path.join(repoRoot(), 'build');
const ROUND_TIMEOUT_MS = (ROUND_SECONDS + 20) * 1000;

interface Rate {
  connects: number;
  errors: number;
  firstError: string;
  rate: number;
}

interface Series {
  label: string;
  run(): Promise<LineProcess>;
  rates: Rate[];
  /** connect4 hook time spent during this series' rounds. */
  hook: ProgRunStats;
}

function parseRate(proc: LineProcess): Rate {
  return JSON.parse(proc.stdoutLines[proc.stdoutLines.length - 1]) as Rate;
}

const BENCH = 'socklb';

/** kpr's ClusterIP and kpr's cgroup (a connection to no service) each beside
 *  no kpr (the sibling cgroup); the earlier comparisons; the connect4 hook's own time. */
function resultRows(viaService: Series, directInCgroup: Series, directNoKpr: Series, directOutside: Series): BenchRow[] {
  const connect = (metric: string, peer: 'kpr' | 'direct', s: Series): BenchRow => ({ scenario: 'socklb-connect', peer, metric, unit: 'conn/s', better: 'higher', ...ofRounds(s.rates.map((r) => r.rate)) });
  const hook = (metric: string, s: Series): BenchRow => ({ scenario: 'socklb-connect4-hook', peer: 'kpr', metric, unit: 'ns', value: nsPerRun(s.hook), better: 'lower' });
  return [
    connect('connections/s, ClusterIP against no kpr', 'kpr', viaService),
    connect('connections/s, ClusterIP against no kpr', 'direct', directNoKpr),
    connect('connections/s, not a service, in kpr\'s cgroup against no kpr', 'kpr', directInCgroup),
    connect('connections/s, not a service, in kpr\'s cgroup against no kpr', 'direct', directNoKpr),
    connect('connections/s, direct outside the kpr cgroup', 'kpr', viaService),
    connect('connections/s, direct outside the kpr cgroup', 'direct', directOutside),
    connect('connections/s, direct inside the kpr cgroup', 'kpr', viaService),
    connect('connections/s, direct inside the kpr cgroup', 'direct', directInCgroup),
    hook('per translated connect', viaService),
    hook('per non-service connect', directInCgroup),
  ];
}

async function main(): Promise<void> {
  const json = jsonPath(BENCH, process.argv.slice(2));
  const result = newResult(BENCH, { rounds: ROUNDS, roundSeconds: ROUND_SECONDS, maxConnectsPerRound: MAX_CONNECTS_PER_ROUND });
  const topo = createTopology({ prefix: 'bench-socklb', backends: 1, dualStack: false });
  const cgroup = createTestCgroup('bench-socklb');
  const bare = createTestCgroup('bench-socklb-bare');
  const bpfRoot = createBpfRoot('bench-socklb');
  const manifests = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-bench-'));
  const backend = topo.backends[0];
  const server = new LineProcess('acceptd', 'ip', ['netns', 'exec', backend.ns, path.join(BUILD, 'acceptd'), String(PORT)]);
  let agent: LineProcess | undefined;
  const restoreBpfStats = enableBpfStats();
  try {
    await server.waitForLine('listening', (l) => l === 'listening', 10_000);
    writeManifest(
      manifests,
      'connrate.yaml',
      serviceManifest({
        namespace: 'bench',
        name: 'connrate',
        clusterIPs: [CLUSTER_IP],
        ports: [{ name: 'tcp', port: PORT }],
        endpoints: [{ addr: backend.ipv4 }],
      }),
    );
    agent = await startAgent({ manifests, bpfRoot: bpfRoot.path, cgroupRoot: cgroup.path });

    const place: Place = { cgroup: cgroup.path, ns: topo.client.ns };
    const barePlace: Place = { cgroup: bare.path, ns: topo.client.ns };
    const connrate = (addr: string) => [path.join(BUILD, 'connrate'), addr, String(PORT), String(ROUND_SECONDS), String(MAX_CONNECTS_PER_ROUND)];
    const series: Series[] = [
      { label: `ClusterIP ${CLUSTER_IP} (kpr)`, run: () => runInPlace(place, connrate(CLUSTER_IP), ROUND_TIMEOUT_MS), rates: [], hook: { runTimeNs: 0, runCount: 0 } },
      { label: `direct ${backend.ipv4}, kpr cgroup`, run: () => runInPlace(place, connrate(backend.ipv4), ROUND_TIMEOUT_MS), rates: [], hook: { runTimeNs: 0, runCount: 0 } },
      { label: `direct ${backend.ipv4}, no kpr`, run: () => runInPlace(barePlace, connrate(backend.ipv4), ROUND_TIMEOUT_MS), rates: [], hook: { runTimeNs: 0, runCount: 0 } },
      {
        label: `direct ${backend.ipv4}, outside any test cgroup`,
        run: async () => {
          const proc = new LineProcess('connrate', 'ip', ['netns', 'exec', topo.client.ns, ...connrate(backend.ipv4)]);
          await proc.waitForSuccess(ROUND_TIMEOUT_MS);
          return proc;
        },
        rates: [],
        hook: { runTimeNs: 0, runCount: 0 },
      },
    ];
    const connectHook = (): ProgRunStats => attachedProgStats(cgroup.path, 'kpr_connect4');
    for (let round = 1; round <= ROUNDS; round++) {
      for (let i = 0; i < series.length; i++) {
        const s = series[(round + i) % series.length];
        const before = connectHook();
        s.rates.push(parseRate(await s.run()));
        const after = connectHook();
        s.hook.runTimeNs += after.runTimeNs - before.runTimeNs;
        s.hook.runCount += after.runCount - before.runCount;
      }
      process.stdout.write(`round ${round}/${ROUNDS}: ${series.map((s) => Math.round(s.rates[round - 1].rate)).join(' / ')} conn/s\n`);
    }

    const [viaService, directInCgroup, directNoKpr, directOutside] = series;
    const ratio = (a: Series, b: Series) => median(a.rates.map((r, i) => r.rate / b.rates[i].rate));
    console.log(`\nsocket LB connect rate: connect()+close(), ${ROUNDS} rounds of ${ROUND_SECONDS} s, medians`);
    console.log(`machine: ${describeMachine()}`);
    for (const s of series) console.log(`  ${s.label.padEnd(36)} ${Math.round(median(s.rates.map((r) => r.rate))).toString().padStart(8)} conn/s`);
    console.log(`  ratio ClusterIP / direct in kpr cgroup:           ${ratio(viaService, directInCgroup).toFixed(3)}`);
    console.log(`  ratio ClusterIP / direct without kpr:             ${ratio(viaService, directNoKpr).toFixed(3)}`);
    console.log(`  ratio direct in kpr cgroup / direct without kpr:  ${ratio(directInCgroup, directNoKpr).toFixed(3)}`);
    console.log(`  ratio direct without kpr / direct outside:        ${ratio(directNoKpr, directOutside).toFixed(3)}`);
    // The rates wobble by several percent between rounds on a shared VM; the
    // hook's own run time says what the translation really costs.
    const hit = nsPerRun(viaService.hook);
    const miss = nsPerRun(directInCgroup.hook);
    const perConnectNs = 1e9 / median(directNoKpr.rates.map((r) => r.rate));
    console.log(`  connect4 hook: ${hit.toFixed(0)} ns per translated connect, ${miss.toFixed(0)} ns per non-service connect`);
    console.log(`  hook share of a direct connect()+close() (${(perConnectNs / 1000).toFixed(1)} us): ${((100 * hit) / perConnectNs).toFixed(2)}%` +
      ` -> ratio bound by the hook alone: ${(perConnectNs / (perConnectNs + hit)).toFixed(4)}`);

    const failed = series.flatMap((s) => s.rates.filter((r) => r.errors > 0).map((r) => `${s.label}: ${r.errors} errors (${r.firstError})`));
    writeResult(json, { ...result, rows: resultRows(viaService, directInCgroup, directNoKpr, directOutside), errors: failed });
    if (failed.length > 0) throw new Error(`failed connects:\n${failed.join('\n')}`);
  } finally {
    restoreBpfStats();
    await agent?.stop();
    await server.stop();
    bpfRoot.destroy();
    cgroup.destroy();
    bare.destroy();
    topo.destroy();
    fs.rmSync(manifests, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`bench socklb: ${e.message}`);
  process.exit(1);
});
