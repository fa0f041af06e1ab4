#!/usr/bin/env node
// `make test` after the build: a preflight for the privileged tests, then jest
// on the compiled tests in dist/ — unit tests in parallel, BPF_PROG_TEST_RUN
// packet tests (bpf), datapath tests and
// e2e tests (a real kube-apiserver and etcd, built by `make kube-bin`) one file
// at a time — and a last line "N passed, N failed" over all runs.
// Whatever is missing for the privileged tests counts as a failure, never as a skip.
'use strict';

const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const DIST_TESTS = path.join(ROOT, 'dist', 'tests');
const JEST = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
const MINUTE = 60_000;

const SUITES = [
  { dir: 'unit', args: [], timeoutMs: 10 * MINUTE },
  { dir: 'bpf', args: ['--runInBand'], timeoutMs: 10 * MINUTE },
  { dir: 'datapath', args: ['--runInBand'], timeoutMs: 40 * MINUTE },
  { dir: 'e2e', args: ['--runInBand'], timeoutMs: 30 * MINUTE },
];

function loadHelpers() {
  try {
    return {
      preflight: require(path.join(DIST_TESTS, 'helpers', 'preflight.js')),
      leftovers: require(path.join(DIST_TESTS, 'helpers', 'leftovers.js')),
    };
  } catch (e) {
    console.log(`test helpers are not built (run make build): ${e.message}`);
    return undefined;
  }
}

/** Removes what exited test processes left behind; returns how many things it found. */
function sweep(leftovers, when) {
  try {
    const { removed, errors } = leftovers.sweepLeftovers();
    for (const what of removed) console.log(`${when}: removed leftover ${what}`);
    for (const err of errors) console.log(`${when}: could not remove leftover ${err}`);
    return removed.length + errors.length;
  } catch (e) {
    console.log(`${when}: sweeping leftovers failed: ${e.message}`);
    return 1;
  }
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// A suite that failed without a failed test (a load error, a failing
// beforeAll/afterAll) still counts as one failure.
function tally(resultsFile, status, label) {
  let results;
  try {
    results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
  } catch (e) {
    console.log(`${label}: jest left no results (exit ${status}): ${e.message}`);
    return { passed: 0, failed: 1 };
  }
  const silentFailures = results.testResults.filter(
    (file) => file.status === 'failed' && !file.assertionResults.some((a) => a.status === 'failed'),
  ).length;
  let failed = results.numFailedTests + silentFailures;
  if (status !== 0 && failed === 0) {
    console.log(`${label}: jest exited with ${status} without reporting a failed test`);
    failed = 1;
  }
  return { passed: results.numPassedTests, failed };
}

function runSuite(suite, outDir) {
  const label = `tests/${suite.dir}`;
  const resultsFile = path.join(outDir, `${suite.dir}.json`);
  const pattern = `^${escapeRegExp(path.join(DIST_TESTS, suite.dir) + path.sep)}`;
  console.log(`\n=== jest ${label} ===`);
  const r = spawnSync(
    process.execPath,
    [JEST, '--json', `--outputFile=${resultsFile}`, '--testPathPatterns', pattern, ...suite.args],
    { cwd: ROOT, stdio: 'inherit', timeout: suite.timeoutMs },
  );
  if (r.error) console.log(`${label}: ${r.error.message}`);
  return tally(resultsFile, r.status ?? r.signal, label);
}

// Upstream's e2e tests on a real cluster (issue 13): make cluster's two nodes,
// kpr from its image by helm, the [Conformance] tests of [sig-network]
// Services (tests/cluster/conformance.ts --slice ci), then kpr's own checks of
// the socket-LB bypass there (tests/cluster/socket_bypass.ts) and the
// cheapest day-two rows (tests/cluster/day2.ts: kpr killed three ways under
// load; make day2 runs every row). Each upstream test, check and row counts
// as one test; the cluster goes down after, whatever happened.
const CLUSTER = path.join(DIST_TESTS, 'cluster');

// kpr's own checks on the same cluster, after upstream's: each writes
// {passed, failed} to --summary; none written counts as one failure.
function runClusterCheck(outDir, script, label, args = []) {
  const summary = path.join(outDir, `${script}.json`);
  console.log(`\n=== ${label} ===`);
  const r = spawnSync(process.execPath, [path.join(CLUSTER, script), ...args, '--summary', summary], { cwd: ROOT, stdio: 'inherit', timeout: 10 * MINUTE });
  if (r.error) console.log(`${label}: ${r.error.message}`);
  try {
    return JSON.parse(fs.readFileSync(summary, 'utf8'));
  } catch {
    console.log(`${label}: no results (exit ${r.status ?? r.signal})`);
    return { passed: 0, failed: 1 };
  }
}

function runClusterSlice(outDir) {
  const label = 'tests/cluster (upstream e2e on make cluster)';
  const summary = path.join(outDir, 'cluster.json');
  console.log(`\n=== ${label} ===`);
  const up = spawnSync(process.execPath, [path.join(CLUSTER, 'conformance.js'), '--slice', 'ci', '--summary', summary], {
    cwd: ROOT,
    stdio: 'inherit',
    timeout: 30 * MINUTE,
  });
  if (up.error) console.log(`${label}: ${up.error.message}`);
  const bypass = runClusterCheck(outDir, 'socket_bypass.js', 'tests/cluster (the socket-LB bypass on make cluster)');
  const day2 = runClusterCheck(outDir, 'day2.js', 'tests/cluster (day-two rows: kpr killed under load)', ['--rows', 'container-kill,kill-9,pod-delete']);
  const down = spawnSync(process.execPath, [path.join(CLUSTER, 'down.js')], { cwd: ROOT, stdio: 'inherit', timeout: 5 * MINUTE });
  let counts;
  try {
    counts = JSON.parse(fs.readFileSync(summary, 'utf8'));
  } catch {
    console.log(`${label}: no results (exit ${up.status ?? up.signal})`);
    counts = { passed: 0, failed: 1 };
  }
  for (const check of [bypass, day2]) {
    counts.passed += check.passed;
    counts.failed += check.failed;
  }
  if (down.status !== 0) {
    console.log(`${label}: make cluster-down failed (exit ${down.status ?? down.signal})`);
    counts.failed += 1;
  }
  return counts;
}

function main() {
  const helpers = loadHelpers();
  if (!helpers) return { passed: 0, failed: 1 };
  let failed = 0;
  let passed = 0;

  sweep(helpers.leftovers, 'before the tests');
  const hostBefore = new Set(helpers.leftovers.hostAttachments());
  const missing = helpers.preflight.missingPrivileges();
  for (const what of missing) console.log(`preflight: missing ${what}`);
  failed += missing.length;

  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-jest-'));
  try {
    for (const suite of SUITES) {
      const r = runSuite(suite, outDir);
      passed += r.passed;
      failed += r.failed;
    }
    const r = runClusterSlice(outDir);
    passed += r.passed;
    failed += r.failed;
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }

  // The host's own devices: whatever kpr program appeared there was a test's doing.
  const leaked = helpers.leftovers.hostAttachments().filter((a) => !hostBefore.has(a));
  for (const a of leaked) {
    console.log(`after the tests: kpr's ${a} was left on a device of the host; removing it`);
    helpers.leftovers.detachHost(a);
  }
  if (leaked.length > 0) failed += 1;

  // Every test owner has exited now, so whatever is found was leaked by a test.
  if (sweep(helpers.leftovers, 'after the tests') > 0) {
    console.log('tests left resources behind (counted as one failure)');
    failed += 1;
  }
  return { passed, failed };
}

const { passed, failed } = main();
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
