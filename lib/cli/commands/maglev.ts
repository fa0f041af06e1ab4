// kpr maglev FRONTEND (a node's programmed Maglev table) and kpr maglev
// compute (a table as every node would build it), shown alike so the two
// can be compared.
import * as fs from 'fs';
import {
  computeMaglev,
  DEFAULT_MAGLEV_SEED,
  DEFAULT_MAGLEV_TABLE_SIZE,
  MAGLEV_MAX_TABLE_SIZE,
  MAGLEV_MIN_TABLE_SIZE,
  MaglevTable,
} from '../../datapath/edge/maglev';
import { programmedMaglev } from '../../datapath/edge/maglev_programmed';
import { FrontendKey, loadAddon } from '../../datapath/native';
import { formatFrontend } from '../../model/frontend';
import { Command, runParsed } from '../command';
import { CommandSpec, integerFlag, parseFlags, UsageError } from '../flags';
import { parseBackendsFile } from '../maglev_backends';
import { formatMaglevShares, maglevJson } from '../maglev_listing';
import { pinnedMapDir } from '../pinned_maps';
import { BPF_ROOT, bpfRootFlag, Output, OUTPUT, outputFlag, parseFrontendArg, SEED_HELP, seedFlag } from '../shared_flags';

export const MAGLEV_COMPUTE: CommandSpec = {
  name: 'maglev compute',
  summary: 'compute the Maglev lookup table of a backend set, as every node computes it',
  flags: [
    { name: '--backends-file', value: 'FILE', help: 'one backend a line: 198.18.0.11:8080 or [fd00:198:18::11]:8080; # starts a comment' },
    { name: '--size', value: 'M', help: `table size: a prime from ${MAGLEV_MIN_TABLE_SIZE} to ${MAGLEV_MAX_TABLE_SIZE}`, default: String(DEFAULT_MAGLEV_TABLE_SIZE) },
    { name: '--seed', value: 'SEED', help: `hash seed, as kpr run --bpf-lb-maglev-hash-seed takes it: ${SEED_HELP}; nodes that share it share tables`, default: String(DEFAULT_MAGLEV_SEED) },
    OUTPUT,
  ],
};

export const MAGLEV_SHOW: CommandSpec = {
  name: 'maglev',
  operand: 'FRONTEND',
  summary:
    "a frontend's programmed Maglev table (198.18.100.1:80/TCP, [fd00:198:18:100::1]:53/UDP): each backend's share and the digest, which kpr maglev compute gives too for the same backends, size and seed",
  flags: [BPF_ROOT, OUTPUT],
};

export interface MaglevComputeConfig {
  backendsFile: string;
  /** In range; whether it is prime, the table computation says. */
  size: number;
  seed: number;
  output: Output;
}

export function maglevComputeConfig(args: string[]): MaglevComputeConfig | 'help' {
  const v = parseFlags(MAGLEV_COMPUTE, args);
  if (v === 'help') return v;
  const backendsFile = v.get('--backends-file');
  if (backendsFile === undefined) throw new UsageError(MAGLEV_COMPUTE.name, 'flag --backends-file is required');
  return {
    backendsFile,
    size: integerFlag(MAGLEV_COMPUTE, v, '--size', MAGLEV_MIN_TABLE_SIZE, MAGLEV_MAX_TABLE_SIZE),
    seed: seedFlag(MAGLEV_COMPUTE, v, '--seed'),
    output: outputFlag(MAGLEV_COMPUTE, v),
  };
}

export interface MaglevShowConfig {
  frontend: FrontendKey;
  bpfRoot: string;
  output: Output;
}

export function maglevShowConfig(args: string[]): MaglevShowConfig | 'help' {
  const [operand, ...rest] = args;
  const v = parseFlags(MAGLEV_SHOW, rest);
  if (v === 'help') return v;
  const frontend = parseFrontendArg(operand);
  if (!frontend) throw new UsageError(MAGLEV_SHOW.name, `${JSON.stringify(operand)} is not a frontend: give ADDRESS:PORT[/PROTOCOL], such as 198.18.100.1:80/TCP or [fd00:198:18:100::1]:53/UDP`);
  return { frontend, bpfRoot: bpfRootFlag(v), output: outputFlag(MAGLEV_SHOW, v) };
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

/** The table a node holds, shown as kpr maglev compute shows one. */
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

export const maglevCommand: Command = {
  specs: [MAGLEV_SHOW, MAGLEV_COMPUTE],
  main: async (args) => {
    const [sub, ...rest] = args;
    if (sub === '-h' || sub === '--help') return runParsed(MAGLEV_COMPUTE, maglevComputeConfig, maglevCompute, [sub]);
    if (sub === undefined) throw new UsageError(MAGLEV_SHOW.name, 'missing a frontend or the subcommand compute');
    return sub === 'compute' ? runParsed(MAGLEV_COMPUTE, maglevComputeConfig, maglevCompute, rest) : runParsed(MAGLEV_SHOW, maglevShowConfig, maglevShow, args);
  },
};
