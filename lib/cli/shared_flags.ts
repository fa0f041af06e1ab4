// Flags that more than one command takes, and what they mean everywhere:
// where the pinned maps are, the output format, a Maglev seed, a frontend,
// and kube-proxy's health check port.
import { DEFAULT_MAGLEV_SEED, parseMaglevSeed } from '../datapath/edge/maglev';
import { FrontendKey } from '../datapath/native';
import { canonicalIp } from '../model/ip_address';
import { Protocol, PROTOCOLS } from '../model/protocol';
import { Command, command } from './command';
import { choiceFlag, CommandSpec, FlagSpec, FlagValues, parseFlags, UsageError } from './flags';

export const DEFAULT_BPF_ROOT = '/sys/fs/bpf';

export const BPF_ROOT: FlagSpec = {
  name: '--bpf-root',
  value: 'DIR',
  help: 'bpffs directory; pins live in DIR/kpr/maps and DIR/kpr/links',
  default: DEFAULT_BPF_ROOT,
};

export const bpfRootFlag = (v: FlagValues): string => v.get(BPF_ROOT.name) ?? DEFAULT_BPF_ROOT;

export const OUTPUTS = ['table', 'json'] as const;
export type Output = (typeof OUTPUTS)[number];

export const OUTPUT: FlagSpec = { name: '--output', alias: '-o', value: 'FORMAT', help: OUTPUTS.join(' or '), default: 'table' };

export function outputFlag(cmd: CommandSpec, v: FlagValues): Output {
  return choiceFlag(cmd, v, OUTPUT.name, OUTPUTS);
}

/** kube-proxy's ports for its metrics and health servers. */
export const METRICS_PORT = 10249;
export const HEALTHZ_PORT = 10256;
export const DEFAULT_METRICS = `127.0.0.1:${METRICS_PORT}`;
export const DEFAULT_HEALTHZ = `0.0.0.0:${HEALTHZ_PORT}`;

export const SEED_HELP = "an unsigned 32-bit integer, or Cilium's 12 bytes in base64 (head -c12 /dev/urandom | base64)";

export function seedFlag(cmd: CommandSpec, v: FlagValues, name: string): number {
  const raw = v.get(name);
  if (raw === undefined) return DEFAULT_MAGLEV_SEED;
  const seed = parseMaglevSeed(raw);
  if (seed === undefined) throw new UsageError(cmd.name, `flag ${name} must be ${SEED_HELP}, got ${JSON.stringify(raw)}`);
  return seed;
}

/** "198.18.100.1:80/TCP", "[fd00:198:18:100::1]:53/udp"; the protocol defaults to TCP. */
export function parseFrontendArg(text: string): FrontendKey | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:/[\]]+)):(\d{1,5})(?:\/([A-Za-z]+))?$/.exec(text);
  const addr = m ? canonicalIp(m[1] ?? m[2]) : undefined;
  const port = Number(m?.[3]);
  const proto = (m?.[4] ?? 'TCP').toUpperCase();
  if (!m || !addr || (m[2] !== undefined && addr.includes(':')) || !(port >= 1 && port <= 65535)) return undefined;
  if (!(PROTOCOLS as readonly string[]).includes(proto)) return undefined;
  return { addr, port, proto: proto as Protocol };
}

/** The flags of the commands that list pinned maps (services, backends, flows). */
export interface ListingConfig {
  bpfRoot: string;
  output: Output;
}

const LISTING_FLAGS: FlagSpec[] = [BPF_ROOT, OUTPUT];

export function listingConfig(cmd: CommandSpec, args: string[]): ListingConfig | 'help' {
  const v = parseFlags(cmd, args);
  if (v === 'help') return v;
  return { bpfRoot: bpfRootFlag(v), output: outputFlag(cmd, v) };
}

/** A command that lists pinned maps, with the flags of every such command. */
export function listingCommand(name: string, summary: string, list: (cfg: ListingConfig) => number): Command {
  const spec: CommandSpec = { name, summary, flags: LISTING_FLAGS };
  return command(spec, (args) => listingConfig(spec, args), list);
}
