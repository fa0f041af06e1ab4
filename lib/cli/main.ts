// kpr's command line: the command table and its dispatch. Each command is a
// file of commands/ (its flags, their parsing, what it does): `kpr run` (the
// agent), `kpr status`, `kpr services`, `kpr backends` and `kpr flows` (what
// the pinned maps hold), `kpr maglev` (a programmed or a computed Maglev
// table) and `kpr trace` (the edge LB's decisions as they happen). The native
// addon is loaded only by the commands that use it, so --help works without it.
import { Command } from './command';
import { backendsCommand } from './commands/backends';
import { cleanupCommand, cleanupSpelling } from './commands/cleanup';
import { flowsCommand } from './commands/flows';
import { maglevCommand } from './commands/maglev';
import { runCommand } from './commands/run';
import { servicesCommand } from './commands/services';
import { statusCommand } from './commands/status';
import { traceCommand } from './commands/trace';
import { CommandSpec, UsageError } from './flags';
import { drainOutput, watchOutput } from './output';

/** Exit status of a command line error. */
const USAGE = 2;

/** In the order `kpr --help` lists them. */
const COMMANDS: Command[] = [runCommand, statusCommand, servicesCommand, backendsCommand, flowsCommand, maglevCommand, traceCommand, cleanupCommand];

const BY_NAME = new Map(COMMANDS.map((c) => [c.specs[0].name, c]));

/** The command and its arguments: kube-proxy's `--cleanup` (with `kpr run`'s
 *  flags, or alone) is `kpr cleanup`. */
function resolve(name: string, args: string[]): { cmd?: Command; args: string[] } {
  const cleanup = cleanupSpelling(name === 'run' ? args : [name, ...args]);
  if (cleanup && (name === 'run' || name.startsWith('--cleanup'))) return { cmd: cleanupCommand, args: cleanup };
  return { cmd: BY_NAME.get(name), args };
}

export function mainHelp(): string {
  const specs = COMMANDS.flatMap((c) => c.specs);
  const usage = (c: CommandSpec) => (c.operand ? `${c.name} ${c.operand}` : c.name);
  const width = Math.max(...specs.map((c) => usage(c).length)) + 2;
  const lines = specs.map((c) => `  ${usage(c).padEnd(width)}${c.summary}`);
  return `usage: kpr <command> [flags]\n\ncommands:\n${lines.join('\n')}\n\nkpr <command> --help shows the flags of a command.\n`;
}

/** Runs a command; resolves with its exit status once its output is written out. */
export async function main(argv: string[]): Promise<number> {
  watchOutput();
  const status = await dispatch(argv);
  await drainOutput();
  return status;
}

async function dispatch(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  try {
    if (name === undefined) {
      process.stderr.write(mainHelp());
      return USAGE;
    }
    if (name === '-h' || name === '--help') {
      process.stdout.write(mainHelp());
      return 0;
    }
    const resolved = resolve(name, args);
    if (resolved.cmd) return await resolved.cmd.main(resolved.args);
    throw new UsageError('', `unknown command ${JSON.stringify(name)} (commands: ${COMMANDS.map((c) => c.specs[0].name).join(', ')})`);
  } catch (e) {
    if (e instanceof UsageError) {
      const cmd = e.command ? `kpr ${e.command}` : 'kpr';
      process.stderr.write(`${cmd}: ${e.message}\nsee "${cmd} --help"\n`);
      return USAGE;
    }
    // Addon errors carry errno text and verifier log tails: shown as they are.
    process.stderr.write(`kpr: ${(e as Error).message}\n`);
    return 1;
  }
}
