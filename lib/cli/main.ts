// kpr's command line: `kpr run` (the agent), `kpr services`, `kpr backends`
// and `kpr flows` (what the pinned maps hold), `kpr maglev FRONTEND` (a programmed Maglev table),
// `kpr maglev compute` (a Maglev table, as the agent would build it) and
// `kpr trace` (the edge LB's decisions as they happen), one entry each in the
// command table; their flags are config.ts's. The native addon is loaded only
// by these commands, so everything else works without it.
import * as fs from 'fs';
import * as path from 'path';
import { runAgent } from '../agent';
import {
  commandHelp,
  CommandSpec,
  COMMANDS,
  MaglevComputeConfig,
  MaglevShowConfig,
  ServicesConfig,
  StatusConfig,
  TraceConfig,
  MAGLEV_COMPUTE,
  maglevComputeConfig,
  maglevShowConfig,
  MAGLEV_SHOW,
  mainHelp,
  runConfig,
  RUN,
  SERVICES,
  servicesConfig,
  STATUS,
  statusConfig,
  BACKENDS,
  FLOWS,
  TRACE,
  traceConfig,
  UsageError,
} from './config';
import { checkAttachments } from '../datapath/attachment_check';
import { computeMaglev, MaglevTable } from '../datapath/edge/maglev';
import { parseBackendsFile } from './maglev_backends';
import { formatMaglevShares, maglevJson } from './maglev_listing';
import { programmedMaglev } from '../datapath/edge/maglev_programmed';
import { decision, formatDecision } from '../datapath/edge/trace';
import { backendRows, edgeServiceRows, flowRows, formatBackends, formatEdgeServices, formatFlows } from './edge_listing';
import { Backend, FrontendKey, loadAddon, EdgeReaders } from '../datapath/native';
import { currentNetns } from '../host/netns';
import { programmedState } from '../datapath/socket/programmed';
import { formatTable, ServiceRow, serviceRows } from './service_listing';
import { pinPaths } from '../host/bpffs';
import { createLogger } from '../log';
import { RunConfig } from '../run_config';
import { agentHealth, attachmentRows, formatStatus, statusExitCode } from './status_report';
import { drainOutput, stdoutClosed, watchOutput } from './output';
import { formatFrontend } from '../model/frontend';

/** Exit status of a command line error. */
const USAGE = 2;

async function run(cfg: RunConfig): Promise<number> {
  await runAgent(cfg, createLogger(cfg.logLevel));
  return 0;
}

/** The agent's map directory under bpfRoot; throws when no agent has made one. */
function pinnedMapDir(bpfRoot: string): string {
  const { maps: mapDir } = pinPaths(bpfRoot);
  if (!fs.existsSync(mapDir) || fs.readdirSync(mapDir).length === 0) {
    throw new Error(`no kpr state under ${bpfRoot}: is the agent running with --bpf-root ${bpfRoot}?`);
  }
  return mapDir;
}

function services(cfg: ServicesConfig): number {
  const mapDir = pinnedMapDir(cfg.bpfRoot);
  const maps = loadAddon().openPinnedMaps(mapDir);
  let rows: ServiceRow[];
  try {
    rows = serviceRows(programmedState(maps.dumpServices(), maps.dumpBackends()));
  } finally {
    maps.close();
  }
  const edge = withEdgeMaps(mapDir, (e) => edgeServiceRows(e.dumpFrontends(), e.dumpBackends())) ?? [];
  // One list: each row says which LB it belongs to; edge rows add the mode and algorithm.
  if (cfg.output === 'json') process.stdout.write(`${JSON.stringify([...rows.map((r) => ({ lb: 'socket', ...r })), ...edge.map((r) => ({ lb: 'edge', ...r }))], null, 2)}\n`);
  else process.stdout.write(formatTable(rows) + (edge.length > 0 ? `\n${formatEdgeServices(edge)}` : ''));
  return 0;
}

/** fn over the edge LB's pinned maps; undefined when the agent runs without one. */
function withEdgeMaps<T>(mapDir: string, fn: (maps: EdgeReaders) => T): T | undefined {
  if (!fs.existsSync(path.join(mapDir, 'kpr_edge_frontends'))) return undefined;
  const maps = loadAddon().openPinnedEdgeMaps(mapDir);
  try {
    return fn(maps);
  } finally {
    maps.close();
  }
}

async function status(cfg: StatusConfig): Promise<number> {
  const { maps: mapDir, links: linkDir } = pinPaths(cfg.bpfRoot);
  pinnedMapDir(cfg.bpfRoot);
  const kernel = loadAddon().kernelStatus({ mapDir, linkDir });
  const findings = checkAttachments(kernel.wanted, kernel, currentNetns());
  const health = await agentHealth(cfg.healthz);
  process.stdout.write(cfg.output === 'json' ? `${JSON.stringify({ agent: health, ...kernel, attachments: attachmentRows(findings) }, null, 2)}\n` : formatStatus(health, kernel, findings));
  return statusExitCode(health, findings);
}

function backends(cfg: ServicesConfig): number {
  const mapDir = pinnedMapDir(cfg.bpfRoot);
  const maps = loadAddon().openPinnedMaps(mapDir);
  let socket: Backend[];
  const used = new Map<number, number>();
  try {
    socket = maps.dumpBackends();
    // A socket LB backend id belongs to one frontend; it serves while active there.
    for (const r of serviceRows(programmedState(maps.dumpServices(), socket))) for (const b of r.backends) used.set(b.id, 1);
  } finally {
    maps.close();
  }
  const rows = withEdgeMaps(mapDir, (e) => backendRows(socket, used, e.dumpBackends(), e.dumpFrontends())) ?? backendRows(socket, used, [], []);
  process.stdout.write(cfg.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : formatBackends(rows));
  return 0;
}

function flows(cfg: ServicesConfig): number {
  const rows = withEdgeMaps(pinnedMapDir(cfg.bpfRoot), (e) => flowRows(e.dumpFlows(), e.dumpFrontends(), e.dumpBackends()));
  if (rows === undefined) throw new Error(`no edge LB maps under ${cfg.bpfRoot}: the agent runs without the edge LB (--bpf-lb-acceleration disabled?)`);
  process.stdout.write(cfg.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : formatFlows(rows));
  return 0;
}

function readBackends(file: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(MAGLEV_COMPUTE.name, `--backends-file ${file}: ${(e as Error).message}`);
  }
  const { backends, errors } = parseBackendsFile(text);
  if (errors.length > 0) throw new UsageError(MAGLEV_COMPUTE.name, `--backends-file ${file}:\n  ${errors.join('\n  ')}`);
  if (backends.length === 0) throw new UsageError(MAGLEV_COMPUTE.name, `--backends-file ${file}: no backends`);
  return backends;
}

/** kpr maglev FRONTEND: the table a node holds, shown as kpr maglev compute shows one. */
function maglevShow(cfg: MaglevShowConfig): number {
  const maps = loadAddon().openPinnedEdgeMaps(pinnedMapDir(cfg.bpfRoot));
  try {
    const p = programmedMaglev(maps, cfg.frontend, (input) => loadAddon().maglevDigest(input));
    const heading = `frontend ${formatFrontend(cfg.frontend)}, service id ${p.frontend.svcId}, ${p.frontend.algorithm}\n`;
    process.stdout.write(cfg.output === 'json' ? maglevJson(p.size, p.seed, p.table) : heading + formatMaglevShares(p.size, p.seed, p.table));
  } finally {
    maps.close();
  }
  return 0;
}

/** kpr maglev compute: a table as the agent would build it. */
function maglevCompute(cfg: MaglevComputeConfig): number {
  const backends = readBackends(cfg.backendsFile);
  loadAddon(); // a missing build is not the user's mistake; what computeMaglev refuses is
  let table: MaglevTable;
  try {
    table = computeMaglev({ backends, size: cfg.size, seed: cfg.seed });
  } catch (e) {
    throw new UsageError(MAGLEV_COMPUTE.name, (e as Error).message);
  }
  process.stdout.write(cfg.output === 'json' ? maglevJson(cfg.size, cfg.seed, table) : formatMaglevShares(cfg.size, cfg.seed, table));
  return 0;
}

/** How long a trace outlives its reader (renewed twice as often). */
const TRACE_LEASE_MS = 2000;
const TRACE_POLL_MS = 200;

/** kpr trace: decisions as they happen, until a limit, an interrupt or its reader goes away. */
async function trace(cfg: TraceConfig): Promise<number> {
  const t = loadAddon().openTrace(pinnedMapDir(cfg.bpfRoot));
  let interrupted = false;
  const onSignal = () => (interrupted = true);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const deadline = cfg.durationMs === undefined ? Infinity : Date.now() + cfg.durationMs;
  let seen = 0;
  try {
    t.start({ frontend: cfg.frontend, client: cfg.client, leaseMs: TRACE_LEASE_MS });
    process.stderr.write(`tracing ${cfg.frontend ? formatTraceFrontend(cfg.frontend) : 'every frontend'}${cfg.client ? ` from ${cfg.client}` : ''} (Ctrl-C stops)\n`);
    let renewed = Date.now();
    while (!interrupted && !stdoutClosed() && Date.now() < deadline && (cfg.count === undefined || seen < cfg.count)) {
      for (const e of t.poll(TRACE_POLL_MS)) {
        if (cfg.count !== undefined && seen >= cfg.count) break;
        const d = decision(e);
        process.stdout.write(cfg.output === 'json' ? `${JSON.stringify(d)}\n` : `${formatDecision(d)}\n`);
        seen++;
      }
      if (Date.now() - renewed >= TRACE_LEASE_MS / 2) {
        t.renew(TRACE_LEASE_MS);
        renewed = Date.now();
      }
      await new Promise((r) => setImmediate(r)); // let signals, and a closed stdout, in between polls
    }
  } finally {
    t.stop();
    const lost = t.lost();
    t.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.stderr.write(`${seen} decisions${lost > 0 ? `; ${lost} lost while the ring buffer was full` : ''}\n`);
  }
  return 0;
}

function formatTraceFrontend(fe: FrontendKey | { addr: string }): string {
  return 'port' in fe ? formatFrontend(fe) : fe.addr;
}

/** A command's flags, their parser, and what it does with them. */
type Command = (args: string[]) => Promise<number>;

/** Parses the flags and runs the command; a -h among them shows its help instead. */
function command<T>(spec: CommandSpec, parse: (args: string[]) => T | 'help', run: (cfg: T) => number | Promise<number>): Command {
  return async (args) => {
    const cfg = parse(args);
    if (cfg !== 'help') return run(cfg);
    process.stdout.write(commandHelp(spec));
    return 0;
  };
}

const maglevShowCommand = command(MAGLEV_SHOW, maglevShowConfig, maglevShow);
const maglevComputeCommand = command(MAGLEV_COMPUTE, maglevComputeConfig, maglevCompute);

/** kpr maglev FRONTEND, or kpr maglev compute. */
const maglev: Command = async (args) => {
  const [sub, ...rest] = args;
  if (sub === '-h' || sub === '--help') return maglevComputeCommand([sub]);
  if (sub === undefined) throw new UsageError('maglev', 'missing a frontend or the subcommand compute');
  return sub === 'compute' ? maglevComputeCommand(rest) : maglevShowCommand(args);
};

const COMMAND_TABLE = new Map<string, Command>([
  [RUN.name, command(RUN, runConfig, run)],
  [STATUS.name, command(STATUS, statusConfig, status)],
  [SERVICES.name, command(SERVICES, servicesConfig, services)],
  [BACKENDS.name, command(BACKENDS, (args) => servicesConfig(args, BACKENDS), backends)],
  [FLOWS.name, command(FLOWS, (args) => servicesConfig(args, FLOWS), flows)],
  [MAGLEV_SHOW.name, maglev],
  [TRACE.name, command(TRACE, traceConfig, trace)],
]);

/** Runs a command; resolves with its exit status once its output is written out. */
export async function main(argv: string[]): Promise<number> {
  watchOutput();
  const status = await runCommand(argv);
  await drainOutput();
  return status;
}

async function runCommand(argv: string[]): Promise<number> {
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
    const cmd = COMMAND_TABLE.get(command);
    if (cmd) return await cmd(args);
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
