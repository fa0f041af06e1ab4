// The test helpers for shell scripts (scripts/demo.sh):
//   node testbed.js up --owner PID --prefix NAME --backends N [--ipv4-only]
//     builds a topology, a test cgroup and a bpf root owned by PID and prints
//     them as shell assignments (TESTBED_*) for eval. On failure it prints the
//     error and exits 1; the owner's `down` removes whatever was made.
//   node testbed.js down --owner PID
//     removes everything owned by PID (killing processes left inside).
//   node testbed.js sweep
//     removes what exited owners left behind.
import { parseArgs } from 'util';
import { createTopology } from './topology';
import { createTestCgroup } from './cgroup';
import { createBpfRoot } from './bpf_root';
import { RemovalReport, removeOwnedBy, sweepLeftovers } from './leftovers';

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function positiveInt(text: string | undefined, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${text ?? 'nothing'}`);
  return n;
}

function up(owner: number, prefix: string, backends: number, dualStack: boolean): void {
  const topo = createTopology({ prefix, backends, dualStack, owner });
  const cgroup = createTestCgroup(prefix, owner);
  const bpfRoot = createBpfRoot(prefix, owner);
  const vars: Record<string, string> = {
    TESTBED_CLIENT_NS: topo.client.ns,
    TESTBED_CLIENT_IPV4: topo.client.ipv4,
    TESTBED_CLIENT_IPV6: topo.client.ipv6 ?? '',
    TESTBED_BACKEND_NAMES: topo.backends.map((b) => b.name).join(' '),
    TESTBED_BACKEND_NS: topo.backends.map((b) => b.ns).join(' '),
    TESTBED_BACKEND_IPV4: topo.backends.map((b) => b.ipv4).join(' '),
    TESTBED_BACKEND_IPV6: topo.backends.map((b) => b.ipv6 ?? '').join(' '),
    TESTBED_CGROUP: cgroup.path,
    TESTBED_BPF_ROOT: bpfRoot.path,
  };
  for (const [k, v] of Object.entries(vars)) process.stdout.write(`${k}=${shellQuote(v)}\n`);
}

function report(r: RemovalReport): void {
  for (const what of r.removed) process.stderr.write(`removed ${what}\n`);
  for (const err of r.errors) process.stderr.write(`could not remove ${err}\n`);
  if (r.errors.length > 0) process.exitCode = 1;
}

function main(): void {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      owner: { type: 'string' },
      prefix: { type: 'string', default: 'testbed' },
      backends: { type: 'string', default: '1' },
      'ipv4-only': { type: 'boolean', default: false },
    },
  });
  const command = positionals[0];
  if (command === 'up') {
    up(positiveInt(values.owner, '--owner'), values.prefix, positiveInt(values.backends, '--backends'), !values['ipv4-only']);
  } else if (command === 'down') {
    report(removeOwnedBy(positiveInt(values.owner, '--owner')));
  } else if (command === 'sweep') {
    report(sweepLeftovers());
  } else {
    throw new Error(`unknown command ${command}; use up, down or sweep`);
  }
}

try {
  main();
} catch (e) {
  process.stderr.write(`testbed: ${(e as Error).message}\n`);
  process.exit(1);
}
