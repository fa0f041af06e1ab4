// What a command is to `kpr`'s dispatcher (main.ts): the specs its --help
// and `kpr --help` show, and its entry point from the arguments after its
// name to an exit status.
import { commandHelp, CommandSpec } from './flags';

export interface Command {
  /** The first names the command; a command with subcommands has one a subcommand. */
  specs: CommandSpec[];
  main(args: string[]): Promise<number>;
}

/** A command of one spec: parses the flags and runs; a -h among them shows its help instead. */
export function command<T>(spec: CommandSpec, parse: (args: string[]) => T | 'help', run: (cfg: T) => number | Promise<number>): Command {
  return { specs: [spec], main: (args) => runParsed(spec, parse, run, args) };
}

/** One spec's parse-then-run, for commands that dispatch to subcommands. */
export async function runParsed<T>(spec: CommandSpec, parse: (args: string[]) => T | 'help', run: (cfg: T) => number | Promise<number>, args: string[]): Promise<number> {
  const cfg = parse(args);
  if (cfg !== 'help') return run(cfg);
  process.stdout.write(commandHelp(spec));
  return 0;
}
