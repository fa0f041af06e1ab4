// The CONFORMANCE.md generator on reports of the real e2e.test (v1.37.2),
// trimmed (tests/unit/fixtures/conformance/README.md says how they were made),
// and the JUnit reader on the XML shapes those reports use.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CONFORMANCE_FOCUS, CONFORMANCE_SUITES } from '../cluster/conformance_focus';
import { conformanceReport, formatSeconds, main, proxyResults, readReports, suiteOf } from '../cluster/conformance_report';
import { parseJUnit, parseXml } from '../cluster/junit';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'tests', 'unit', 'fixtures', 'conformance');
const KPR = [path.join(FIXTURES, 'kpr')];
const KUBE_PROXY = [path.join(FIXTURES, 'kube-proxy')];

const SERVICE_CIDR_API = '[sig-network] ServiceCIDR and IPAddress API should support ServiceCIDR API operations [Conformance]';
const TOPOLOGY = '[sig-network] Topology Hints should distribute endpoints evenly';
const PREFER_CLOSE = '[sig-network] Traffic Distribution should route traffic to an endpoint in the same zone when using PreferClose';
const URLS = '[sig-network] Networking should check kube-proxy urls';
const SCTP = '[sig-network] Services should allow creating a basic SCTP service with pod and endpoints [LinuxOnly] [Serial]';
const BASIC = '[sig-network] Services should serve a basic endpoint from pods [Conformance]';
const LB_FINALIZER = '[sig-network] LoadBalancers [Feature:LoadBalancer] should handle load balancer cleanup finalizer for service [Slow]';
const SA_TIMEOUT = /^wait for service account "default" in namespace "[a-z-]+-\d+": timed out waiting for the condition$/;

describe('JUnit reader', () => {
  test("e2e.test's report: suite properties, statuses, times, skip messages and failure text with its numeric entities", () => {
    const report = parseJUnit(fs.readFileSync(path.join(FIXTURES, 'kube-proxy', 'junit_run1_01.xml'), 'utf8'));
    expect(report.timestamp).toBe('2026-12-04T11:43:33');
    expect(report.properties.DryRun).toBe('false');
    expect(report.testcases.find((t) => t.name === `[It] ${PREFER_CLOSE}`)).toEqual({ name: `[It] ${PREFER_CLOSE}`, status: 'skipped', time: 2.69552791, skipped: 'skipped - Requires >= 3 zones' });
    const failed = parseJUnit(fs.readFileSync(path.join(FIXTURES, 'kpr', 'junit_run2_01.xml'), 'utf8')).testcases.find((t) => t.name === `[It] ${URLS}`);
    expect(failed?.status).toBe('failed');
    expect(failed?.failure?.split('\n').slice(0, 2)).toEqual([
      '[FAILED] wait for service account "default" in namespace "nettest-7928": timed out waiting for the condition',
      'In [BeforeEach] at: k8s.io/kubernetes@v1.37.2/test/e2e/framework/framework.go:372 @ 12/04/26 11:29:25.176',
    ]);
  });

  test('entities, CDATA, self-closing elements, comments and single quotes', () => {
    const xml = `<?xml version="1.0"?>
<!-- a comment with <testcase> in it -->
<testsuites><testsuite name='s' timestamp="t">
  <testcase name="[It] a &lt;b&gt; &amp; &quot;c&quot; &#39;d&apos; &#x41;" status="skipped" time="0.5"><skipped message="skipped - x"/></testcase>
  <testcase name="[It] e" status="failed" time="1"><failure message="" type="failed"><![CDATA[[FAILED] <raw> & </testcase>]]>&#xA;more</failure></testcase>
  <testcase name="[It] f" time="2"><failure message="only the attribute"/></testcase>
  <testcase name="[It] g" time="3"/>
</testsuite></testsuites>`;
    expect(parseJUnit(xml).testcases).toEqual([
      { name: `[It] a <b> & "c" 'd' A`, status: 'skipped', time: 0.5, skipped: 'skipped - x' },
      { name: '[It] e', status: 'failed', time: 1, failure: '[FAILED] <raw> & </testcase>\nmore' },
      { name: '[It] f', status: 'failed', time: 2, failure: 'only the attribute' },
      { name: '[It] g', status: 'passed', time: 3 },
    ]);
  });

  test.each([
    ['<testsuite><testcase name="a"></testsuite>', 'line 1: </testsuite> closes <testcase>'],
    ['<testsuite>\n<testcase name="a">', 'line 2: <testcase> is never closed'],
    ['<testsuite name="a &nbsp; b"/>', 'line 1: attribute name of <testsuite>: unknown entity &nbsp;'],
    ['<testsuite>a & b</testsuite>', 'line 1: a bare & (not an entity)'],
    ['<testsuite><![CDATA[x</testsuite>', 'unterminated CDATA section'],
    ['<a/><b/>', 'a second root element <b>'],
  ])('%j is refused: %s', (xml, message) => {
    expect(() => parseXml(xml)).toThrow(message);
  });

  test('a document that is no JUnit report', () => {
    expect(() => parseJUnit('<html><body/></html>')).toThrow('no <testsuite> in <html>');
  });
});

describe('conformance report', () => {
  const input = { kpr: readReports(KPR, FIXTURES), kubeProxy: readReports(KUBE_PROXY, FIXTURES) };

  test("the focus selects the issue's suites of the real e2e.test, as many tests in each as the plan counted, and nothing else", () => {
    // Trailing spaces are part of some names: lines are not trimmed.
    const all = fs.readFileSync(path.join(FIXTURES, 'sig-network-tests-v1.37.2.txt'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(all).toHaveLength(249);
    const focused = all.filter((n) => new RegExp(CONFORMANCE_FOCUS).test(n));
    const perSuite: Record<string, number> = {};
    for (const n of focused) perSuite[suiteOf(n)] = (perSuite[suiteOf(n)] ?? 0) + 1;
    expect(perSuite).toEqual({
      Services: 51,
      LoadBalancers: 17,
      'Networking Granular Checks: Services': 20,
      'Secondary IP family twin': 14,
      'kube-proxy urls': 1,
      Conntrack: 7,
      KubeProxy: 2,
      LocalhostNodePorts: 3,
      'Traffic Distribution': 6,
      'Topology Hints': 1,
      EndpointSlice: 5,
      'Service CIDRs': 3,
    });
    expect(Object.keys(perSuite).sort()).toEqual(CONFORMANCE_SUITES.map((s) => s.name).sort());
    // The trailing space of "EndpointSlice " keeps the mirroring controller's tests out.
    expect(all.filter((n) => n.includes('EndpointSliceMirroring')).length).toBeGreaterThan(0);
    expect(focused.filter((n) => n.includes('EndpointSliceMirroring'))).toEqual([]);
  });

  test('statuses and reasons per proxy; tests outside the focus are dropped; a run beats a filtered skip across reports', () => {
    const kpr = proxyResults(input.kpr);
    const kubeProxy = proxyResults(input.kubeProxy);
    expect(kubeProxy.get(SERVICE_CIDR_API)).toEqual({ outcome: 'passed', seconds: 1.5344924 });
    expect(kubeProxy.get(PREFER_CLOSE)).toEqual({ outcome: 'skipped', seconds: 2.69552791, reason: 'Requires >= 3 zones', quoted: true });
    expect(kubeProxy.get(TOPOLOGY)).toMatchObject({ outcome: 'skipped', reason: 'Requires more than one zone' });
    expect(kpr.get(SERVICE_CIDR_API)).toMatchObject({ outcome: 'failed', reason: expect.stringMatching(SA_TIMEOUT), quoted: true });
    // Ran in one kpr report (run2), left out by the other's focus (run1).
    expect(kpr.get(URLS)).toMatchObject({ outcome: 'failed', seconds: 120.023119191, reason: expect.stringMatching(SA_TIMEOUT) });
    // Focused, but skipped by the runner: our reason, not ginkgo's.
    expect(kpr.get(SCTP)).toEqual({ outcome: 'skipped', reason: 'by the runner: the kernel of these machines has no SCTP (CONFIG_IP_SCTP is not set)' });
    // Focused, filtered out by the fixture run, and skipped by none of our runs' skips: not run.
    expect(kpr.get(LB_FINALIZER)).toMatchObject({ outcome: 'not run' });
    expect(kpr.get(BASIC)).toEqual({ outcome: 'not run', reason: "left out by every run's label filter, or not reached" });
    for (const results of [kpr, kubeProxy]) {
      expect([...results.keys()].filter((n) => n.includes('EndpointSliceMirroring'))).toEqual([]);
      expect([...results.keys()].every((n) => new RegExp(CONFORMANCE_FOCUS).test(n))).toBe(true);
    }
  });

  test('the document: regressions first, a summary per suite, a table per suite with both results, times and quoted reasons', () => {
    const doc = conformanceReport(input);
    const section = (title: string) => {
      const start = doc.indexOf(`\n## ${title}\n`);
      expect(start).toBeGreaterThan(0);
      const end = doc.indexOf('\n## ', start + 1);
      return doc.slice(start, end < 0 ? undefined : end);
    };
    expect(doc.startsWith('<!-- Generated by scripts/conformance-report')).toBe(true);
    expect(doc.endsWith('|\n')).toBe(true);
    expect(doc.indexOf('## Fails with kpr, passes with kube-proxy')).toBeLessThan(doc.indexOf('## Summary'));
    const regressions = section('Fails with kpr, passes with kube-proxy').split('\n').filter((l) => l.startsWith('| Service CIDRs'));
    expect(regressions.map((l) => l.split(' | ')[1])).toEqual(['should support IPAddress API operations [Conformance]', 'should support ServiceCIDR API operations [Conformance]']);
    // Neither is in KPR_KNOWN_FAILURES: the document says so rather than leave the cause blank.
    for (const l of regressions) expect(l).toMatch(/\| not known yet \|$/);

    const summary = section('Summary');
    // suite, tests, then passed/failed/skipped/not run for kpr and for kube-proxy.
    // Of the specs a focus left out, the fixtures keep only a few (their README).
    expect(summary).toContain('| Service CIDRs | 2 | 0 | 2 | 0 | 0 | 2 | 0 | 0 | 0 |');
    expect(summary).toContain('| Topology Hints | 1 | 0 | 1 | 0 | 0 | 0 | 0 | 1 | 0 |');
    expect(summary).toContain('| kube-proxy urls | 1 | 0 | 1 | 0 | 0 | 0 | 0 | 0 | 1 |');
    expect(summary).toContain('| LoadBalancers | 1 | 0 | 0 | 0 | 1 | 0 | 0 | 0 | 1 |');
    expect(summary).toContain('| Services | 3 | 0 | 0 | 1 | 2 | 0 | 0 | 1 | 2 |');
    expect(summary).toContain('| **all** | 14 | 0 | 10 | 1 | 3 | 2 | 0 | 3 | 9 |');
    expect(summary).not.toContain('| Other |');

    const rows = section('Traffic Distribution').split('\n').filter((l) => l.startsWith('| should'));
    expect(rows).toHaveLength(6);
    expect(rows.find((l) => l.includes('same zone when using PreferClose'))).toMatch(
      /^\| should route traffic to an endpoint in the same zone when using PreferClose \| \*\*FAILED\*\* \| 2m00s \| skipped \| 2\.7s \| kpr: "wait for service account "default" in namespace "traffic-distribution-\d+": timed out waiting for the condition"<br>kube-proxy: "Requires &gt;= 3 zones" \|$/,
    );
    expect(section('Services')).toContain('| should allow creating a basic SCTP service with pod and endpoints [LinuxOnly] [Serial] | skipped | - | skipped | - | by the runner: the kernel of these machines has no SCTP (CONFIG_IP_SCTP is not set) |');
    expect(section('Service CIDRs')).toContain('| should support ServiceCIDR API operations [Conformance] | **FAILED** | 2m00s | passed | 1.5s |');
  });

  test('durations', () => {
    expect([undefined, 0.05, 9.94, 12.4, 59.6, 120.02, 3725].map(formatSeconds)).toEqual(['-', '0.1s', '9.9s', '12s', '60s', '2m00s', '62m05s']);
  });

  test('the command writes the file; without both proxies it is a usage error', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-conformance-'));
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const out = path.join(dir, 'CONFORMANCE.md');
      expect(main(['--kpr', KPR[0], `--kube-proxy=${KUBE_PROXY[0]}`, '--out', out])).toBe(0);
      expect(fs.readFileSync(out, 'utf8')).toContain('## Fails with kpr, passes with kube-proxy');
      expect(main(['--kpr', KPR[0]])).toBe(2);
      expect(main(['--kpr', KPR[0], '--kube-proxy', path.join(dir, 'none.xml'), '--out', out])).toBe(1);
      expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toContain('--kpr and --kube-proxy are both required');
    } finally {
      stderr.mockRestore();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("make conformance's count of upstream tests (the CI line N passed)", () => {
  // Required here: conformance.ts is a command, its helpers are this test's only use of it.
  const { counts } = require('../../tests/cluster/conformance') as typeof import('../../tests/cluster/conformance');
  const junit = path.join(FIXTURES, 'kube-proxy', 'junit_run1_01.xml');
  const testcases = parseJUnit(fs.readFileSync(junit, 'utf8')).testcases;

  test("counts ginkgo's tests, not its suite nodes, as passed", () => {
    const passedTests = testcases.filter((t) => t.name.startsWith('[It] ') && t.status === 'passed').length;
    const passedNodes = testcases.filter((t) => !t.name.startsWith('[It] ') && t.status === 'passed').length;
    expect(passedNodes).toBeGreaterThan(0);
    expect(counts({ proxy: 'kpr', reportPrefix: 'run1_', junit, exitCode: 0 } as never)).toEqual({ passed: passedTests, failed: [] });
  });

  test('a suite node that failed is a failure', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-junit-'));
    const broken = path.join(dir, 'junit.xml');
    fs.writeFileSync(broken, fs.readFileSync(junit, 'utf8').replace(/(<testcase name="\[SynchronizedBeforeSuite\]"[^>]*status=")passed"/, '$1failed"'));
    try {
      expect(counts({ proxy: 'kpr', reportPrefix: 'run1_', junit: broken, exitCode: 1 } as never).failed).toEqual(['kpr: failed: [SynchronizedBeforeSuite]']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
