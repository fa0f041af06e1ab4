// kpr's command line: `kpr run` (the agent) and `kpr services` (what the
// pinned maps hold). The native addon is loaded only by these commands, so
// everything else works without it.
import * as fs from 'fs';
import { runAgent } from './agent';
import { commandHelp, COMMANDS, mainHelp, pinPaths, runConfig, RUN, SERVICES, servicesConfig, UsageError } from './config';
import { loadAddon } from './datapath/native';
import { programmedState } from './datapath/programmed';
import { formatTable, serviceRows } from './datapath/service_listing';
import { createLogger } from './log';

/** Exit status of a command line error. */
const USAGE = 2;

async function run(args: string[]): Promise<number> {
  const cfg = runConfig(args);
  if (cfg === 'help') {
    process.stdout.write(commandHelp(RUN));
    return 0;
  }
  await runAgent(cfg, createLogger(cfg.logLevel));
  return 0;
}

function services(args: string[]): number {
  const cfg = servicesConfig(args);
  if (cfg === 'help') {
    process.stdout.write(commandHelp(SERVICES));
    return 0;
  }
  const { maps: mapDir } = pinPaths(cfg.bpfRoot);
  if (!fs.existsSync(mapDir) || fs.readdirSync(mapDir).length === 0) {
    throw new Error(`no kpr state under ${cfg.bpfRoot}: is the agent running with --bpf-root ${cfg.bpfRoot}?`);
  }
  const maps = loadAddon().openPinnedMaps(mapDir);
  try {
    const rows = serviceRows(programmedState(maps.dumpServices(), maps.dumpBackends()));
    process.stdout.write(cfg.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : formatTable(rows));
  } finally {
    maps.close();
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (command === undefined) {
      process.stderr.write(mainHelp());
      return USAGE;
    }
    if (command === '-h' || command === '--help') {
      process.stdout.write(mainHelp());
      return 0;
    }
    if (command === RUN.name) return await run(args);
    if (command === SERVICES.name) return services(args);
    throw new UsageError('', `unknown command ${JSON.stringify(command)} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
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
