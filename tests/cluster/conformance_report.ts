// tests/e2e/CONFORMANCE.md from the JUnit reports of upstream's e2e.test:
// every test of the issue's suites (conformance_focus.ts), its result under
// kpr and under kube-proxy, how long it took, and ginkgo's own words for a
// skip or a failure. scripts/conformance-report is the command; make
// conformance runs it after its runs. Each proxy may have several reports (the
// runner's phases): a test that ran in one of them counts as run, and the
// filters of the others left it out of theirs.
import * as fs from 'fs';
import * as path from 'path';
import { CONFORMANCE_FOCUS, CONFORMANCE_SKIP, CONFORMANCE_SKIPS, CONFORMANCE_SUITES, KPR_KNOWN_FAILURES } from './conformance_focus';
import { isTest, IT, JUnitReport, JUnitTestCase, parseJUnit } from './junit';

export type Outcome = 'passed' | 'failed' | 'skipped' | 'not run';

export interface TestResult {
  outcome: Outcome;
  /** Ginkgo's status where it says more than the outcome (panicked, timedout, interrupted, ...). */
  status?: string;
  seconds?: number;
  /** First line of the skip or failure message, or why the test was not run. */
  reason?: string;
  /** The reason is ginkgo's words (quoted in the document), not the runner's. */
  quoted?: boolean;
}

export interface NamedReport {
  /** How the document names the file. */
  file: string;
  report: JUnitReport;
}

export interface ReportInput {
  kpr: NamedReport[];
  kubeProxy: NamedReport[];
}

/** What ginkgo writes for a spec that a focus, skip or label filter left out. */
const FILTERED = 'skipped';
const FOCUS = new RegExp(CONFORMANCE_FOCUS);
const MAX_REASON = 300;
const NOT_IN_REPORT = "not in this proxy's reports";
const LEFT_OUT = "left out by every run's label filter, or not reached";

/** The first line of a message, without ginkgo's "[FAILED] " (or "[PANICKED] ", ...) head. */
export function firstLine(text: string): string {
  const line = text.trim().split('\n')[0].trim().replace(/^\[[A-Z]+\]\s*/, '');
  return line.length > MAX_REASON ? `${line.slice(0, MAX_REASON - 1)}…` : line;
}

function resultOf(tc: JUnitTestCase, name: string): TestResult {
  const seconds = Number.isFinite(tc.time) ? tc.time : undefined;
  if (tc.status === 'passed') return { outcome: 'passed', seconds };
  if (tc.status === 'skipped' || tc.status === 'pending') {
    const message = (tc.skipped ?? '').trim();
    if (message === FILTERED || message === '') {
      const skip = CONFORMANCE_SKIPS.find((s) => new RegExp(s.pattern).test(name));
      return skip ? { outcome: 'skipped', reason: `by the runner: ${skip.reason}` } : { outcome: 'not run', reason: LEFT_OUT };
    }
    return { outcome: 'skipped', status: tc.status === 'pending' ? 'pending' : undefined, seconds, reason: firstLine(message.replace(/^skipped - /, '')), quoted: true };
  }
  const failed: TestResult = { outcome: 'failed', status: tc.status === 'failed' ? undefined : tc.status, seconds };
  return tc.failure === undefined ? failed : { ...failed, reason: firstLine(tc.failure), quoted: true };
}

/** A result that says more beats one that says less: a run beats a skip with a reason beats a filter's bare skip. */
function weight(r: TestResult): number {
  return r.outcome === 'passed' || r.outcome === 'failed' ? 3 : r.outcome === 'skipped' ? 2 : 1;
}

/** The focused tests of one proxy's reports, by full name (without "[It] "). */
export function proxyResults(reports: NamedReport[]): Map<string, TestResult> {
  const out = new Map<string, TestResult>();
  for (const { report } of reports) {
    for (const tc of report.testcases) {
      if (!isTest(tc)) continue;
      const name = tc.name.slice(IT.length);
      if (!FOCUS.test(name)) continue;
      const r = resultOf(tc, name);
      const had = out.get(name);
      if (!had || weight(r) > weight(had)) out.set(name, r);
    }
  }
  return out;
}

/** Suite-level nodes (BeforeSuite, AfterSuite, ...) that did not pass: every test after them is suspect. */
function setupFailures(reports: NamedReport[]): string[] {
  return reports.flatMap(({ file, report }) =>
    report.testcases.filter((tc) => !isTest(tc) && tc.status !== 'passed' && tc.status !== 'skipped').map((tc) => `${file}: ${tc.name} ${tc.status}${tc.failure ? `: "${firstLine(tc.failure)}"` : ''}`),
  );
}

export function suiteOf(name: string): string {
  return CONFORMANCE_SUITES.find((s) => s.prefixes.some((p) => name.startsWith(p)))?.name ?? 'Other';
}

/** The test's name within its suite: the suite's prefix goes, as the section heading says it. */
function shortName(name: string): string {
  const prefix = CONFORMANCE_SUITES.flatMap((s) => s.prefixes).find((p) => name.startsWith(p));
  const rest = prefix ? name.slice(prefix.length).trim() : name;
  return rest === '' ? name : rest;
}

function cell(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|');
}

export function formatSeconds(s: number | undefined): string {
  if (s === undefined) return '-';
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
}

function outcomeCell(r: TestResult): string {
  const word = r.outcome === 'failed' ? '**FAILED**' : r.outcome;
  return r.status ? `${word} (${r.status})` : word;
}

function reasonCell(kpr: TestResult, kubeProxy: TestResult): string {
  const quote = (r: TestResult) => (r.reason === undefined ? undefined : r.quoted ? `"${cell(r.reason)}"` : cell(r.reason));
  const [a, b] = [quote(kpr), quote(kubeProxy)];
  if (a === b) return a ?? '';
  return [a && `kpr: ${a}`, b && `kube-proxy: ${b}`].filter(Boolean).join('<br>');
}

const OUTCOMES: Outcome[] = ['passed', 'failed', 'skipped', 'not run'];

function counts(results: TestResult[]): Record<Outcome, number> {
  const c = { passed: 0, failed: 0, skipped: 0, 'not run': 0 };
  for (const r of results) c[r.outcome]++;
  return c;
}

function runsTable(input: ReportInput): string[] {
  const describe = ({ file, report }: NamedReport) => {
    const filter = report.properties.LabelFilter;
    return `\`${cell(file)}\`${filter ? ` (label filter \`${cell(filter)}\`)` : ''}${report.timestamp ? `, started ${report.timestamp}` : ''}`;
  };
  return [
    '| proxy | reports |',
    '|---|---|',
    `| kpr | ${input.kpr.map(describe).join('<br>')} |`,
    `| kube-proxy (nftables) | ${input.kubeProxy.map(describe).join('<br>')} |`,
  ];
}

/** The Markdown of CONFORMANCE.md. */
export function conformanceReport(input: ReportInput): string {
  const kpr = proxyResults(input.kpr);
  const kubeProxy = proxyResults(input.kubeProxy);
  const notInReport: TestResult = { outcome: 'not run', reason: NOT_IN_REPORT };
  const names = [...new Set([...kpr.keys(), ...kubeProxy.keys()])].sort();
  const rows = names.map((name) => ({ name, suite: suiteOf(name), kpr: kpr.get(name) ?? notInReport, kubeProxy: kubeProxy.get(name) ?? notInReport }));
  const suites = [...CONFORMANCE_SUITES.map((s) => s.name), 'Other'].filter((s) => s !== 'Other' || rows.some((r) => r.suite === s));

  const out: string[] = [
    '<!-- Generated by scripts/conformance-report from the JUnit reports of upstream\'s e2e.test (make conformance): change the runs, tests/cluster/conformance_focus.ts or the generator, not this file. -->',
    '# Upstream sig-network e2e tests: kpr and kube-proxy',
    '',
    "Upstream's `e2e.test`, focused on the suites of issue 13, run against the same cluster once with kpr as the service proxy and once with kube-proxy in nftables mode. Results and reasons are ginkgo's, quoted from its JUnit reports (first line).",
    '',
    ...runsTable(input),
    '',
    `Focus: \`${CONFORMANCE_FOCUS}\``,
    '',
    `Skip: \`${CONFORMANCE_SKIP}\` (${CONFORMANCE_SKIPS.map((s) => `\`${s.pattern}\`: ${s.reason}`).join('; ')})`,
    '',
  ];
  const setup = [...setupFailures(input.kpr).map((s) => `kpr, ${s}`), ...setupFailures(input.kubeProxy).map((s) => `kube-proxy, ${s}`)];
  if (setup.length > 0) out.push('## Suite setup that did not pass', '', ...setup.map((s) => `- ${cell(s)}`), '');

  const regressions = rows.filter((r) => r.kpr.outcome === 'failed' && r.kubeProxy.outcome === 'passed');
  out.push('## Fails with kpr, passes with kube-proxy', '');
  if (regressions.length === 0) out.push('None.', '');
  else {
    const cause = (name: string) => KPR_KNOWN_FAILURES.find((k) => new RegExp(k.pattern).test(name))?.cause ?? 'not known yet';
    out.push('| suite | test | kpr | cause |', '|---|---|---|---|', ...regressions.map((r) => `| ${cell(r.suite)} | ${cell(shortName(r.name))} | "${cell(r.kpr.reason ?? '')}" | ${cell(cause(r.name))} |`), '');
  }

  out.push('## Summary', '', `| suite | tests | ${OUTCOMES.map((o) => `kpr ${o}`).join(' | ')} | ${OUTCOMES.map((o) => `kube-proxy ${o}`).join(' | ')} |`, `|---|---:|${'---:|'.repeat(OUTCOMES.length * 2)}`);
  const summaryRow = (label: string, of: typeof rows) => {
    const [a, b] = [counts(of.map((r) => r.kpr)), counts(of.map((r) => r.kubeProxy))];
    return `| ${label} | ${of.length} | ${OUTCOMES.map((o) => a[o]).join(' | ')} | ${OUTCOMES.map((o) => b[o]).join(' | ')} |`;
  };
  for (const s of suites) out.push(summaryRow(cell(s), rows.filter((r) => r.suite === s)));
  out.push(summaryRow('**all**', rows), '');

  for (const s of suites) {
    const of = rows.filter((r) => r.suite === s);
    const prefixes = CONFORMANCE_SUITES.find((x) => x.name === s)?.prefixes ?? [];
    out.push(`## ${s}`, '');
    if (prefixes.length > 0) out.push(`Tests named ${prefixes.map((p) => `\`${p.trim()}\``).join(' or ')} ...`, '');
    if (of.length === 0) {
      out.push('No test of this suite in the reports.', '');
      continue;
    }
    out.push('| test | kpr | time | kube-proxy | time | reason |', '|---|---|---:|---|---:|---|');
    for (const r of of) {
      out.push(`| ${cell(shortName(r.name))} | ${outcomeCell(r.kpr)} | ${formatSeconds(r.kpr.seconds)} | ${outcomeCell(r.kubeProxy)} | ${formatSeconds(r.kubeProxy.seconds)} | ${reasonCell(r.kpr, r.kubeProxy)} |`);
    }
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/** A report file, or every junit_*.xml in a report directory. */
function reportFiles(p: string): string[] {
  if (!fs.statSync(p).isDirectory()) return [p];
  const files = fs.readdirSync(p).filter((f) => /^junit_.*\.xml$/.test(f)).sort();
  if (files.length === 0) throw new Error(`${p}: no junit_*.xml in it`);
  return files.map((f) => path.join(p, f));
}

export function readReports(paths: string[], relativeTo: string): NamedReport[] {
  return paths.flatMap(reportFiles).map((file) => {
    try {
      const relative = path.relative(relativeTo, path.resolve(file));
      return { file: relative.startsWith('..') || path.isAbsolute(relative) ? path.resolve(file) : relative, report: parseJUnit(fs.readFileSync(file, 'utf8')) };
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
  });
}

/** dist/tests/cluster -> the checkout. */
const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const USAGE = `usage: scripts/conformance-report --kpr PATH... --kube-proxy PATH... [--out FILE]

PATH: a JUnit report of e2e.test, or a --report-dir holding junit_*.xml; give
each flag once per path. --out: default tests/e2e/CONFORMANCE.md; - for stdout.
`;

export function main(argv: string[]): number {
  const paths: Record<'--kpr' | '--kube-proxy', string[]> = { '--kpr': [], '--kube-proxy': [] };
  let out = path.join(REPO_ROOT, 'tests', 'e2e', 'CONFORMANCE.md');
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    if (flag === '-h' || flag === '--help') {
      process.stdout.write(USAGE);
      return 0;
    }
    const value = inline ?? argv[++i];
    if ((flag !== '--kpr' && flag !== '--kube-proxy' && flag !== '--out') || value === undefined) {
      process.stderr.write(`conformance-report: ${value === undefined ? `flag ${flag} needs a value` : `unknown flag ${flag}`}\n${USAGE}`);
      return 2;
    }
    if (flag === '--out') out = value;
    else paths[flag].push(value);
  }
  if (paths['--kpr'].length === 0 || paths['--kube-proxy'].length === 0) {
    process.stderr.write(`conformance-report: --kpr and --kube-proxy are both required\n${USAGE}`);
    return 2;
  }
  try {
    const input = { kpr: readReports(paths['--kpr'], REPO_ROOT), kubeProxy: readReports(paths['--kube-proxy'], REPO_ROOT) };
    for (const [proxy, reports] of [['kpr', input.kpr], ['kube-proxy', input.kubeProxy]] as const) {
      if (proxyResults(reports).size === 0) throw new Error(`the ${proxy} reports hold no test of the conformance focus: are they e2e.test's?`);
      for (const { file, report } of reports) {
        const focus = report.properties.FocusStrings;
        if (focus !== undefined && focus !== CONFORMANCE_FOCUS) process.stderr.write(`conformance-report: warning: ${file} ran with another focus: ${focus}\n`);
      }
    }
    const text = conformanceReport(input);
    if (out === '-') process.stdout.write(text);
    else fs.writeFileSync(out, text);
    return 0;
  } catch (e) {
    process.stderr.write(`conformance-report: ${(e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
