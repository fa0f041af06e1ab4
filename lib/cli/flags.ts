// The command-line parser every command shares: a command's flags are a
// table (CommandSpec), from which come both the parser's checks and --help.
// Its errors name the command and the flag at fault.
import { parseDuration } from '../duration';

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
  /** The one argument that is not a flag, if the command takes one. */
  operand?: string;
  summary: string;
  flags: FlagSpec[];
}

/** Flag values by flag name (aliases resolved), or "help" when help was asked for. */
export type FlagValues = Map<string, string>;

export function parseFlags(cmd: CommandSpec, args: string[]): FlagValues | 'help' {
  const values: FlagValues = new Map();
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

function specOf(cmd: CommandSpec, name: string): FlagSpec {
  return cmd.flags.find((f) => f.name === name) as FlagSpec;
}

/** The flag's value, else its documented default, as an integer in [min, max]. */
export function integerFlag(cmd: CommandSpec, values: FlagValues, name: string, min: number, max: number): number {
  const raw = values.get(name) ?? (specOf(cmd, name).default as string);
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(cmd.name, `flag ${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return n;
}

/** The flag's value, else its documented default, one of choices. */
export function choiceFlag<T extends string>(cmd: CommandSpec, v: FlagValues, name: string, choices: readonly T[]): T {
  const raw = v.get(name) ?? specOf(cmd, name).default;
  const choice = choices.find((c) => c === raw);
  if (choice === undefined) throw new UsageError(cmd.name, `flag ${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
  return choice;
}

export function booleanFlag(cmd: CommandSpec, v: FlagValues, name: string): boolean {
  return choiceFlag(cmd, v, name, ['true', 'false']) === 'true';
}

/** Milliseconds; undefined when the flag is not given. */
export function durationFlag(cmd: CommandSpec, v: FlagValues, name: string): number | undefined {
  const raw = v.get(name);
  if (raw === undefined) return undefined;
  const ms = parseDuration(raw);
  if (ms === undefined) throw new UsageError(cmd.name, `flag ${name} must be a duration such as 1s, 500ms or 1m30s, got ${JSON.stringify(raw)}`);
  return ms;
}

export function commandHelp(cmd: CommandSpec): string {
  const left = cmd.flags.map((f) => `  ${f.alias ? `${f.alias}, ` : ''}${f.name} ${f.value}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = cmd.flags.map((f, i) => `${left[i].padEnd(width)}${f.help}${f.default ? ` (default: ${f.default})` : ''}`);
  return `usage: kpr ${cmd.name}${cmd.operand ? ` ${cmd.operand}` : ''} [flags]\n\n${cmd.summary}\n\nflags:\n${lines.join('\n')}\n  -h, --help\n`;
}
