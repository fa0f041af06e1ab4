// make conformance: upstream's own e2e tests judge kpr on the cluster of make
// cluster, and judge upstream kube-proxy (nftables) the same way on the same
// cluster, so that a failure shows as the cluster's or as kpr's. Each proxy
// gets nodes started afresh (make cluster's nodes, their images kept), so
// that nothing one proxy programmed is left for the other.
//
//   node dist/tests/cluster/conformance.js [--slice ci|full] [--proxies kpr,kube-proxy] [--focus REGEX]
//
// ci: the [Conformance] tests of [sig-network] Services, kpr only (make test's
// real-cluster slice). full: every suite of conformance_focus.ts, both
// proxies, then tests/e2e/CONFORMANCE.md from the two runs' JUnit.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../e2e/cluster';
import { isTest, parseJUnit } from './junit';
import { CONFORMANCE_FOCUS, CONFORMANCE_PHASES, CONFORMANCE_SKIPS } from './conformance_focus';
import { nodesDown } from './down';
import { kubectlFor } from './kubectl';
import { say } from './log';
import { NODES, kubeTool } from './layout';
import { clusterPki } from './pki';
import { NodeUsage, ProxyUsage } from './proxy_usage';
import { ProxyName, proxyByName, waitProxyReady } from './proxies';
import { clusterUp } from './up';

interface Slice {
  focus: string;
  skip: string;
  phases: readonly { reportPrefix: string; labelFilter: string; procs: number }[];
}

const SLICES: Record<'ci' | 'full', Slice> = {
  ci: {
    focus: '\\[sig-network\\] Services ',
    skip: CONFORMANCE_SKIPS.map((s) => s.pattern).join('|'),
    phases: [{ reportPrefix: 'ci_', labelFilter: 'Conformance && !Disruptive', procs: 3 }],
  },
  full: { focus: CONFORMANCE_FOCUS, skip: CONFORMANCE_SKIPS.map((s) => s.pattern).join('|'), phases: CONFORMANCE_PHASES },
};

export interface PhaseResult {
  proxy: ProxyName;
  reportPrefix: string;
  junit: string;
  exitCode: number;
  seconds: number;
  usage: NodeUsage[];
}

interface Args {
  slice: keyof typeof SLICES;
  proxies: ProxyName[];
  /** Where to write the runs' test counts, {passed, failed} (scripts/run-tests.js). */
  summary?: string;
  /** Some of the slice's tests again (a suite re-run after a fix), as one more report beside the others. */
  focus?: string;
}

function parseArgs(argv: string[]): Args {
  let slice: keyof typeof SLICES = 'full';
  let proxies: ProxyName[] | undefined;
  let summary: string | undefined;
  let focus: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--slice') {
      const v = value();
      if (v !== 'ci' && v !== 'full') throw new Error(`--slice ${v}: ci or full`);
      slice = v;
    } else if (flag === '--proxies') {
      const list = (value() ?? '').split(',').filter(Boolean);
      const bad = list.filter((p) => p !== 'kpr' && p !== 'kube-proxy');
      if (bad.length || !list.length) throw new Error(`--proxies ${list.join(',')}: a list of kpr and kube-proxy`);
      proxies = list as ProxyName[];
    } else if (flag === '--focus') {
      focus = value();
    } else if (flag === '--summary') {
      summary = value();
    } else {
      throw new Error(`unknown argument ${argv[i]}; usage: conformance [--slice ci|full] [--proxies kpr,kube-proxy] [--focus REGEX] [--summary FILE]`);
    }
  }
  return { slice, proxies: proxies ?? (slice === 'ci' ? ['kpr'] : ['kpr', 'kube-proxy']), summary, focus };
}

/** The tests a run selected that passed, and those that did not (failed,
 *  panicked, timed out, interrupted); a run without its JUnit counts as one failure. */
/** Tests passed, and what did not pass: a test, or a suite node (a failed BeforeSuite fails the run). */
export function counts(r: PhaseResult): { passed: number; failed: string[] } {
  if (!fs.existsSync(r.junit)) return { passed: 0, failed: [`${r.proxy} ${r.reportPrefix}: e2e.test wrote no JUnit (exit ${r.exitCode}); see the log beside ${r.junit}`] };
  const ran = parseJUnit(fs.readFileSync(r.junit, 'utf8')).testcases.filter((t) => t.status !== 'skipped' && t.status !== 'pending');
  const failed = ran.filter((t) => t.status !== 'passed').map((t) => `${r.proxy}: ${t.status}: ${t.name}`);
  if (r.exitCode !== 0 && failed.length === 0) failed.push(`${r.proxy} ${r.reportPrefix}: e2e.test exited ${r.exitCode} with no failed test`);
  return { passed: ran.filter((t) => t.status === 'passed' && isTest(t)).length, failed };
}

/** Where make conformance-report reads them (CONFORMANCE_DIR's default). */
export function resultsDir(): string {
  return path.join(REPO_ROOT, 'build', 'conformance');
}

/** One e2e.test run, in phase.procs processes under ginkgo's CLI; its output
 *  goes to the console (progress) and to a log beside its JUnit. */
function runE2e(kubeconfig: string, slice: Slice, phase: Slice['phases'][number], dir: string): Promise<number> {
  const ginkgoArgs = [
    `--procs=${phase.procs}`,
    `--focus=${slice.focus}`,
    `--skip=${slice.skip}`,
    `--label-filter=${phase.labelFilter}`,
    '--timeout=6h',
    '--no-color',
    // The framework writes the JUnit report itself (--report-dir).
    kubeTool('e2e.test'),
    '--',
  ];
  const e2eArgs = [
    `--kubeconfig=${kubeconfig}`,
    '--provider=skeleton',
    `--num-nodes=${NODES.length}`,
    '--disable-log-dump',
    `--kubectl-path=${kubeTool('kubectl')}`,
    `--report-dir=${dir}`,
    `--report-prefix=${phase.reportPrefix}`,
  ];
  const log = fs.openSync(path.join(dir, `${phase.reportPrefix}e2e.log`), 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(kubeTool('ginkgo'), [...ginkgoArgs, ...e2eArgs], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
    const tee = (chunk: Buffer) => {
      fs.writeSync(log, chunk);
      process.stdout.write(chunk);
    };
    child.stdout.on('data', tee);
    child.stderr.on('data', tee);
    child.on('error', reject);
    child.on('close', (code) => {
      fs.closeSync(log);
      resolve(code ?? 1);
    });
  });
}

async function judge(name: ProxyName, slice: Slice): Promise<PhaseResult[]> {
  say(`${name}: nodes afresh`);
  await nodesDown();
  const kubeconfig = await clusterUp();
  const kubectl = kubectlFor(clusterPki());
  const proxy = proxyByName(name, kubeconfig, kubectl);
  proxy.install();
  await waitProxyReady(kubectl);
  const dir = path.join(resultsDir(), name);
  fs.mkdirSync(dir, { recursive: true });
  // Each phase replaces its own files; other runs' reports stay, for the report to merge.
  for (const f of fs.readdirSync(dir)) if (slice.phases.some((p) => f.startsWith(p.reportPrefix) || f === `junit_${p.reportPrefix}01.xml`)) fs.rmSync(path.join(dir, f));
  const results: PhaseResult[] = [];
  try {
    for (const phase of slice.phases) {
      say(`${name}: e2e.test, ${phase.labelFilter}; log and JUnit in ${dir}`);
      const usage = new ProxyUsage(proxy.isAgent);
      const start = Date.now();
      const exitCode = await runE2e(kubeconfig, slice, phase, dir);
      const r = { proxy: name, reportPrefix: phase.reportPrefix, junit: path.join(dir, `junit_${phase.reportPrefix}01.xml`), exitCode, seconds: Math.round((Date.now() - start) / 1000), usage: usage.stop() };
      fs.writeFileSync(path.join(dir, `${phase.reportPrefix}run.json`), JSON.stringify(r, null, 2));
      say(`${name}: ${phase.labelFilter} done in ${r.seconds} s, e2e.test exit ${exitCode}; agents: ${r.usage.map((u) => `${u.node} peak ${u.peakRssMb} MB, ${u.cpuSeconds} CPU s`).join('; ')}`);
      results.push(r);
    }
  } finally {
    proxy.uninstall();
  }
  return results;
}

/** --focus in place of the slice's (its skips stay): run once, without the Disruptive tests, reported as focus_. */
function narrowed(slice: Slice, focus: string | undefined): Slice {
  if (focus === undefined) return slice;
  return { ...slice, focus, phases: [{ reportPrefix: 'focus_', labelFilter: '!Disruptive', procs: 3 }] };
}

export async function runConformance(slice: keyof typeof SLICES, proxies: ProxyName[], focus?: string): Promise<PhaseResult[]> {
  const results: PhaseResult[] = [];
  for (const name of proxies) results.push(...(await judge(name, narrowed(SLICES[slice], focus))));
  return results;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const results = await runConformance(args.slice, args.proxies, args.focus);
  let passed = 0;
  const failed: string[] = [];
  for (const r of results) {
    const c = counts(r);
    passed += c.passed;
    failed.push(...c.failed);
  }
  for (const f of failed) say(`not passed: ${f}`);
  say(`${passed} upstream tests passed, ${failed.length} not; results in ${resultsDir()}`);
  if (args.summary) fs.writeFileSync(args.summary, JSON.stringify({ passed, failed: failed.length }));
  // The full run judges two proxies: kube-proxy's failures are the cluster's facts, not an error.
  if (args.slice === 'ci' && failed.length > 0) process.exit(1);
}

if (require.main === module)
  main().catch((e: Error) => {
    console.error(`conformance: ${e.message}`);
    process.exit(1);
  });
