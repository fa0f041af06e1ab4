// Command-line configuration: the flags of each command, their defaults, and
// a small parser whose errors name the flag at fault. Flag names follow
// Cilium's where one exists, so operators meet names they already know.
import * as path from 'path';
import { isLogLevel, LOG_LEVELS, LogLevel } from './log';

export class UsageError extends Error {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface FlagSpec {
  name: string;
  alias?: string;
  /** Placeholder for the value in --help. */
  value: string;
  help: string;
  default?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  flags: FlagSpec[];
}

export const DEFAULT_BPF_ROOT = '/sys/fs/bpf';
const MAX_MAP_ENTRIES = 1 << 24;

const BPF_ROOT: FlagSpec = {
  name: '--bpf-root',
  value: 'DIR',
  help: 'bpffs directory; pins live in DIR/kpr/maps and DIR/kpr/links',
  default: DEFAULT_BPF_ROOT,
};

export const RUN: CommandSpec = {
  name: 'run',
  summary: 'run the agent: program the socket load balancer from manifests',
  flags: [
    { name: '--manifests', value: 'PATH', help: 'manifest file, or directory of *.yaml, *.yml and *.json files (required)' },
    { ...BPF_ROOT, help: `${BPF_ROOT.help}; bpffs is mounted there if it is not` },
    { name: '--cgroup-root', value: 'DIR', help: 'cgroup v2 directory to attach to', default: 'the cgroup2 mount in /proc/self/mountinfo' },
    { name: '--bpf-lb-map-max', value: 'N', help: 'entries of the service and backend maps', default: '65536' },
    { name: '--bpf-lb-sock-rev-nat-map-max', value: 'N', help: 'entries of the UDP reverse translation map', default: '131072' },
    { name: '--log-level', value: 'LEVEL', help: LOG_LEVELS.join(', '), default: 'info' },
  ],
};

export const OUTPUTS = ['table', 'json'] as const;
export type Output = (typeof OUTPUTS)[number];

export const SERVICES: CommandSpec = {
  name: 'services',
  summary: 'list the programmed frontends and backends from the pinned maps',
  flags: [BPF_ROOT, { name: '--output', alias: '-o', value: 'FORMAT', help: OUTPUTS.join(' or '), default: 'table' }],
};

export const COMMANDS = [RUN, SERVICES];

export interface RunConfig {
  manifests: string;
  bpfRoot: string;
  /** undefined: find the node's cgroup v2 mount. */
  cgroupRoot?: string;
  lbMapMax: number;
  revNatMapMax: number;
  logLevel: LogLevel;
}

export interface ServicesConfig {
  bpfRoot: string;
  output: Output;
}

export function pinPaths(bpfRoot: string): { maps: string; links: string } {
  return { maps: path.join(bpfRoot, 'kpr', 'maps'), links: path.join(bpfRoot, 'kpr', 'links') };
}

/** Flag values by flag name, or "help" when help was asked for. */
export function parseFlags(cmd: CommandSpec, args: string[]): Map<string, string> | 'help' {
  const values = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '-h' || arg === '--help') return 'help';
    if (!arg.startsWith('-')) throw new UsageError(cmd.name, `unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = cmd.flags.find((f) => f.name === name || f.alias === name);
    if (!spec) throw new UsageError(cmd.name, `unknown flag ${name}`);
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined || (eq < 0 && value.startsWith('-')) || value === '') {
      throw new UsageError(cmd.name, `flag ${name} needs a value (${spec.value})`);
    }
    if (values.has(spec.name)) throw new UsageError(cmd.name, `flag ${spec.name} given twice`);
    values.set(spec.name, value);
  }
  return values;
}

function integerFlag(cmd: CommandSpec, values: Map<string, string>, name: string, min: number, max: number): number {
  const spec = cmd.flags.find((f) => f.name === name) as FlagSpec;
  const raw = values.get(name) ?? (spec.default as string);
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(cmd.name, `flag ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

export function runConfig(args: string[]): RunConfig | 'help' {
  const v = parseFlags(RUN, args);
  if (v === 'help') return v;
  const manifests = v.get('--manifests');
  if (manifests === undefined) throw new UsageError(RUN.name, 'flag --manifests is required');
  const logLevel = v.get('--log-level') ?? 'info';
  if (!isLogLevel(logLevel)) {
    throw new UsageError(RUN.name, `flag --log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`);
  }
  return {
    manifests,
    bpfRoot: v.get('--bpf-root') ?? DEFAULT_BPF_ROOT,
    cgroupRoot: v.get('--cgroup-root'),
    lbMapMax: integerFlag(RUN, v, '--bpf-lb-map-max', 1, MAX_MAP_ENTRIES),
    revNatMapMax: integerFlag(RUN, v, '--bpf-lb-sock-rev-nat-map-max', 1, MAX_MAP_ENTRIES),
    logLevel,
  };
}

export function servicesConfig(args: string[]): ServicesConfig | 'help' {
  const v = parseFlags(SERVICES, args);
  if (v === 'help') return v;
  const output = v.get('--output') ?? 'table';
  if (!(OUTPUTS as readonly string[]).includes(output)) {
    throw new UsageError(SERVICES.name, `flag --output must be one of ${OUTPUTS.join(', ')}, got ${JSON.stringify(output)}`);
  }
  return { bpfRoot: v.get('--bpf-root') ?? DEFAULT_BPF_ROOT, output: output as Output };
}

export function commandHelp(cmd: CommandSpec): string {
  const left = cmd.flags.map((f) => `  ${f.alias ? `${f.alias}, ` : ''}${f.name} ${f.value}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = cmd.flags.map((f, i) => `${left[i].padEnd(width)}${f.help}${f.default ? ` (default: ${f.default})` : ''}`);
  return `usage: kpr ${cmd.name} [flags]\n\n${cmd.summary}\n\nflags:\n${lines.join('\n')}\n  -h, --help\n`;
}

export function mainHelp(): string {
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(10)}${c.summary}`);
  return `usage: kpr <command> [flags]\n\ncommands:\n${lines.join('\n')}\n\nkpr <command> --help shows the flags of a command.\n`;
}
