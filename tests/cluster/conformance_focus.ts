// Which upstream e2e tests `make conformance` runs, once for kpr and once for
// kube-proxy, and how CONFORMANCE.md groups them: the issue's suites, each by
// the full-name prefixes of its describes at Kubernetes v1.37.2
// (docs/issue-13-cluster-plan.md, 1.2). The runner's --ginkgo.focus is built
// from the same prefixes, so that a test the report expects is a test the
// runner selects. Run directly, this prints FOCUS=, SKIP= and the phases as
// shell assignments for a runner written in shell.

export interface ConformanceSuite {
  name: string;
  /** Start of the test's full text (without ginkgo's "[It] "). */
  prefixes: string[];
}

export const CONFORMANCE_SUITES: ConformanceSuite[] = [
  { name: 'Services', prefixes: ['[sig-network] Services '] },
  { name: 'LoadBalancers', prefixes: ['[sig-network] LoadBalancers '] },
  { name: 'Networking Granular Checks: Services', prefixes: ['[sig-network] Networking Granular Checks: Services '] },
  { name: 'Secondary IP family twin', prefixes: ['[sig-network] [Feature:IPv6DualStack] Granular Checks: Services Secondary IP Family '] },
  { name: 'kube-proxy urls', prefixes: ['[sig-network] Networking should check kube-proxy urls'] },
  { name: 'Conntrack', prefixes: ['[sig-network] Conntrack '] },
  { name: 'KubeProxy', prefixes: ['[sig-network] KubeProxy '] },
  { name: 'LocalhostNodePorts', prefixes: ['[sig-network] LocalhostNodePorts '] },
  { name: 'Traffic Distribution', prefixes: ['[sig-network] Traffic Distribution '] },
  { name: 'Topology Hints', prefixes: ['[sig-network] Topology Hints '] },
  // The trailing space leaves out EndpointSliceMirroring.
  { name: 'EndpointSlice', prefixes: ['[sig-network] EndpointSlice '] },
  { name: 'Service CIDRs', prefixes: ['[sig-network] Service CIDRs ', '[sig-network] ServiceCIDR and IPAddress API '] },
];

export interface ConformanceSkip {
  /** Go RE2 and JavaScript alike. */
  pattern: string;
  /** What CONFORMANCE.md says of a test it skipped. */
  reason: string;
}

/** Tests the runner skips, for both proxies, and why. */
export const CONFORMANCE_SKIPS: ConformanceSkip[] = [
  { pattern: 'SCTP', reason: 'the kernel of these machines has no SCTP (CONFIG_IP_SCTP is not set)' },
];

/** Tests that fail under kpr and pass under kube-proxy for a cause that is
 *  known and is not a bug in what kpr does (CONFORMANCE.md names it). */
export const KPR_KNOWN_FAILURES: { pattern: string; cause: string }[] = [
  {
    pattern: '\\[sig-network\\] KubeProxy should set TCP CLOSE_WAIT timeout',
    cause:
      "the test asserts kube-proxy's own netfilter side effects, not service proxying: a conntrack entry, on a node that connects to another node's address directly, " +
      "whose timeout is nf_conntrack_tcp_timeout_close_wait's 3600 s. kpr sets that timeout as kube-proxy does (conntrack.tcpCloseWaitTimeout; " +
      'tests/datapath/conntrack_settings.test.ts reads such entries with it), but installs no netfilter rules, and on make cluster nothing else in the node ' +
      'namespace uses conntrack (bridge CNI without masquerade): the kernel tracks no connection there for the test to read. With one counting rule ' +
      '(iptables -A FORWARD -m conntrack --ctstate NEW,ESTABLISHED) in each node namespace, as a masquerading CNI has, the test passes under kpr',
  },
];

/** The runs of each proxy: ginkgo runs Serial specs last, one at a time, but
 *  not Disruptive ones, which restart the proxy or the apiserver under the others. */
export const CONFORMANCE_PHASES = [
  { reportPrefix: 'parallel_', labelFilter: '!Disruptive', procs: 3 },
  { reportPrefix: 'disruptive_', labelFilter: 'Disruptive', procs: 1 },
] as const;

/** Escapes what is special to RE2 and to JavaScript regular expressions. */
export function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/** --ginkgo.focus: every suite's prefixes. */
export const CONFORMANCE_FOCUS = CONFORMANCE_SUITES.flatMap((s) => s.prefixes.map(escapeRegExp)).join('|');

/** --ginkgo.skip. */
export const CONFORMANCE_SKIP = CONFORMANCE_SKIPS.map((s) => s.pattern).join('|');

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

if (require.main === module) {
  const lines = [`FOCUS=${shellQuote(CONFORMANCE_FOCUS)}`, `SKIP=${shellQuote(CONFORMANCE_SKIP)}`];
  CONFORMANCE_PHASES.forEach((p, i) => lines.push(`PHASE${i + 1}_REPORT_PREFIX=${shellQuote(p.reportPrefix)}`, `PHASE${i + 1}_LABEL_FILTER=${shellQuote(p.labelFilter)}`, `PHASE${i + 1}_PROCS=${p.procs}`));
  process.stdout.write(`${lines.join('\n')}\n`);
}
