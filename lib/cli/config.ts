// Command-line configuration: the flags of each command, their defaults, and
// a small parser whose errors name the flag at fault. Flag names follow
// Cilium's for the datapath and kube-proxy's for the proxy's settings, which
// can also come from a kube-proxy configuration file (--config); flags
// override the file, and defaults are kube-proxy's.
import * as fs from 'fs';
import * as path from 'path';
import { BindAddress, parseBindAddress } from '../bind_address';
import {
  DEFAULT_MAGLEV_SEED,
  DEFAULT_MAGLEV_TABLE_SIZE,
  MAGLEV_MAX_TABLE_SIZE,
  MAGLEV_MIN_TABLE_SIZE,
  MAGLEV_TABLE_SIZES,
  parseMaglevSeed,
} from '../datapath/edge/maglev';
import { XDP_ACCELERATIONS, XdpAcceleration } from '../datapath/edge/attach';
import { formatDuration, parseDuration } from '../duration';
import { ConfigFileError, FileSettings, readKubeProxyConfig } from '../kubeproxy_config';
import { LOG_LEVELS, LogLevel } from '../log';
import { KUBE_PROXY_NO_LOCAL_ENDPOINTS_GAUGE, NO_LOCAL_ENDPOINTS_GAUGE } from '../metrics/no_local_endpoints_gauge';
import { FlowTimeouts, FrontendKey, PortRange } from '../datapath/native';
import { DEFAULT_FLOW_TIMEOUTS, FLOW_TIMEOUT_FLAGS } from '../datapath/edge/flow_timeouts';
import { defaultSnatPorts, formatPortRanges, MAX_SNAT_RANGES, parsePortRange } from '../datapath/edge/snat_ports';
import { nodePortAddressWarnings, parseNodePortAddresses } from '../model/nodeport_addresses';
import { canonicalIp } from '../model/ip_address';
import { inClusterServer, parseApiServer } from '../sources/kube_config';
import { Protocol, PROTOCOLS } from '../model/protocol';
import { LB_MODES, LbMode } from '../model/forwarding_mode';
import { LB_ALGORITHMS } from '../model/lb_algorithm';
import { NO_BACKEND_RESPONSES, RunConfig, SourceConfig } from '../run_config';
import { EDGE_FLOWS_PER_LB_ENTRY } from '../datapath/edge/edge_lb';

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

export const DEFAULT_BPF_ROOT = '/sys/fs/bpf';
const MAX_MAP_ENTRIES = 1 << 24;

const SEED_HELP = "an unsigned 32-bit integer, or Cilium's 12 bytes in base64 (head -c12 /dev/urandom | base64)";

const BPF_ROOT: FlagSpec = {
  name: '--bpf-root',
  value: 'DIR',
  help: 'bpffs directory; pins live in DIR/kpr/maps and DIR/kpr/links',
  default: DEFAULT_BPF_ROOT,
};

/** kube-proxy's ports for its metrics and health servers. */
export const METRICS_PORT = 10249;
export const HEALTHZ_PORT = 10256;
const DEFAULT_HEALTHZ = `0.0.0.0:${HEALTHZ_PORT}`;

const SYNC_PERIOD_MS = 30_000;
/** A full pass of the flow collector over every map. */
const DEFAULT_GC_INTERVAL_MS = 10_000;
/** kube-proxy's minSyncPeriod; standalone mode syncs a saved file at once. */
const KUBERNETES_MIN_SYNC_PERIOD_MS = 1000;
const STANDALONE_MIN_SYNC_PERIOD_MS = 0;

export const RUN: CommandSpec = {
  name: 'run',
  summary: 'run the agent: program the socket load balancer from manifests or the Kubernetes API',
  flags: [
    { name: '--manifests', value: 'PATH', help: 'standalone mode: manifest file, or directory of *.yaml, *.yml and *.json files' },
    {
      name: '--kubeconfig',
      value: 'FILE',
      help: 'Kubernetes mode: kubeconfig of the API server; without it and --manifests, the in-cluster service account',
    },
    {
      name: '--k8s-api-server',
      alias: '--master',
      value: 'URL',
      help: "Kubernetes mode: the API server's address, https://HOST[:PORT] or HOST:PORT, in place of the kubeconfig's server or the in-cluster KUBERNETES_SERVICE_HOST and _PORT (which name the kubernetes Service, reachable only once a service proxy serves it); the credentials stay those of the kubeconfig or the service account",
      default: "the kubeconfig's, else in-cluster",
    },
    { name: '--config', value: 'FILE', help: 'kube-proxy configuration file (KubeProxyConfiguration v1alpha1); flags override it' },
    { name: '--hostname-override', value: 'NAME', help: 'name of this node', default: 'NODE_NAME, else the host name' },
    {
      name: '--nodeport-addresses',
      value: 'CIDRS',
      help:
        "comma-separated CIDRs and keywords selecting the node's interface and Node addresses that serve NodePorts, each IP family on its own (a family none of them is of: all its addresses); keywords: primary (the Node's first address of each family), localhost (127.0.0.0/8 and ::1/128), all (0.0.0.0/0 and ::/0); loopback and IPv6 link-local addresses never serve NodePorts",
      default: 'all; primary when --config gives mode nftables',
    },
    { name: '--min-sync-period', value: 'DURATION', help: 'least time between two syncs; 0: sync every change at once', default: '1s; 0s with --manifests' },
    { name: '--sync-period', value: 'DURATION', help: 'a full sync (maps re-read, programs put back on their hooks) at least this often', default: formatDuration(SYNC_PERIOD_MS) },
    { name: '--metrics-bind-address', value: 'IP:PORT', help: 'serve /metrics here; port 0: off', default: `127.0.0.1:${METRICS_PORT}` },
    { name: '--healthz-bind-address', value: 'IP:PORT', help: 'serve /healthz and /livez here; port 0: off', default: DEFAULT_HEALTHZ },
    {
      name: '--metrics-per-service',
      value: 'BOOL',
      help: 'true: kpr_* traffic counters per service port too (one series per service port and frontend: as many as the cluster has)',
      default: 'false',
    },
    {
      name: '--metrics-kube-proxy-total-gauge',
      value: 'BOOL',
      help: `true: serve the no-local-endpoints gauge under kube-proxy's name ${KUBE_PROXY_NO_LOCAL_ENDPOINTS_GAUGE} (which promtool rejects: a gauge named like a counter) instead of ${NO_LOCAL_ENDPOINTS_GAUGE}`,
      default: 'false',
    },
    { ...BPF_ROOT, help: `${BPF_ROOT.help}; bpffs is mounted there if it is not` },
    { name: '--cgroup-root', value: 'DIR', help: 'cgroup v2 directory to attach to', default: 'the cgroup2 mount in /proc/self/mountinfo' },
    {
      name: '--bpf-object-dir',
      value: 'DIR',
      help: 'where the compiled BPF programs are (sock_lb.o, xdp_lb.o, tc_dsr.o); a new build there replaces the attached programs when the agent restarts',
      default: "the installation's bpf/",
    },
    {
      name: '--bpf-lb-map-max',
      value: 'N',
      help: `entries of the service and backend maps, of the socket and the edge LB; the edge LB's flow and SNAT tables get ${EDGE_FLOWS_PER_LB_ENTRY} times as many`,
      default: '65536',
    },
    { name: '--bpf-lb-sock-rev-nat-map-max', value: 'N', help: 'entries of the UDP reverse translation map', default: '131072' },
    {
      name: '--bpf-fragments-map-max',
      value: 'N',
      help: "entries of the edge LB's fragment map: datagrams arriving (or replies leaving) in IP fragments at once, each followed from its first fragment",
      default: '8192',
    },
    {
      name: '--bpf-lb-mode',
      alias: '--lb-mode',
      value: 'MODE',
      help: "edge LB towards backends on other nodes: snat, dsr (the backend's node answers the client), or hybrid (dsr for TCP, snat for UDP); a service's service.cilium.io/forwarding-mode annotation (dsr or snat) overrides it",
      default: 'snat',
    },
    {
      name: '--bpf-lb-algorithm',
      value: 'ALGORITHM',
      help: "edge LB backend choice: maglev (consistent hashing: every node picks the same backend for a connection) or random; a service's service.cilium.io/lb-algorithm annotation overrides it",
      default: 'maglev',
    },
    { name: '--bpf-lb-maglev-table-size', value: 'M', help: `entries of each service's Maglev table, one of ${MAGLEV_TABLE_SIZES.join(', ')}`, default: String(DEFAULT_MAGLEV_TABLE_SIZE) },
    { name: '--bpf-lb-maglev-hash-seed', value: 'SEED', help: `Maglev hash seed, the same on every node: ${SEED_HELP}`, default: String(DEFAULT_MAGLEV_SEED) },
    {
      name: '--bpf-lb-source-range-all-types',
      value: 'BOOL',
      help: "true: a LoadBalancer service's loadBalancerSourceRanges also guard its NodePorts and external IPs; false (kube-proxy's rule): its LoadBalancer IPs only",
      default: 'false',
    },
    { name: '--service-no-backend-response', value: 'RESPONSE', help: 'edge LB, a service without backends: reject (TCP reset) or drop', default: 'reject' },
    {
      name: '--bpf-lb-snat-port-range',
      value: 'MIN-MAX[,MIN-MAX]',
      help: "edge LB, snat mode: the source ports flows get towards a backend, at most two ranges; they must stay clear of the node's ip_local_port_range (ports it serves frontends on are skipped)",
      default: `1024-65535 without ip_local_port_range (${formatPortRanges(defaultSnatPorts({ min: 32768, max: 60999 }))} with Linux's default)`,
    },
    ...FLOW_TIMEOUT_FLAGS.map((f) => ({
      name: f.flag,
      value: 'DURATION',
      help: `edge LB: how long the state of ${f.help} lives once idle (whole seconds); the kernel's ${f.sysctl} by default`,
      default: formatDuration(DEFAULT_FLOW_TIMEOUTS[f.field] * 1000),
    })),
    {
      name: '--conntrack-gc-interval',
      value: 'DURATION',
      help: 'edge LB: every flow, affinity, snat and reverse-NAT entry is looked at once per interval (a slice of each map a second), and deleted when its flow is over',
      default: formatDuration(DEFAULT_GC_INTERVAL_MS),
    },
    {
      name: '--bpf-lb-acceleration',
      value: 'MODE',
      help: "edge LB XDP attachment: native (in the driver; fails where the driver has no XDP), generic, best-effort (native where the driver supports it, generic elsewhere), or disabled (no edge LB)",
      default: 'best-effort',
    },
    { name: '--devices', value: 'IFACES', help: 'comma-separated interfaces the edge LB attaches to', default: "the interfaces holding this node's addresses" },
    { name: '--log-level', value: 'LEVEL', help: LOG_LEVELS.join(', '), default: 'info' },
  ],
};

export const OUTPUTS = ['table', 'json'] as const;
export type Output = (typeof OUTPUTS)[number];

const OUTPUT: FlagSpec = { name: '--output', alias: '-o', value: 'FORMAT', help: OUTPUTS.join(' or '), default: 'table' };

export const SERVICES: CommandSpec = {
  name: 'services',
  summary: 'list the programmed frontends and their backends, of the socket LB and of the edge LB, from the pinned maps',
  flags: [BPF_ROOT, OUTPUT],
};

export const BACKENDS: CommandSpec = {
  name: 'backends',
  summary: 'list every programmed backend, the node it runs on, and how many frontends of each LB use it',
  flags: [BPF_ROOT, OUTPUT],
};

export const STATUS: CommandSpec = {
  name: 'status',
  summary: "the agent's health and last sync, whether each program is where the agent wants it (exit status 1 unless the agent answers healthy and every program is in place), the programs attached and where, and how full each pinned map is",
  flags: [
    BPF_ROOT,
    { name: '--healthz-bind-address', value: 'IP:PORT', help: "the agent's --healthz-bind-address, where its /healthz answers", default: DEFAULT_HEALTHZ },
    OUTPUT,
  ],
};

export const FLOWS: CommandSpec = {
  name: 'flows',
  summary: "list the edge LB's flow table: each client connection, the frontends it may have reached, and its backend",
  flags: [BPF_ROOT, OUTPUT],
};

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

export const TRACE: CommandSpec = {
  name: 'trace',
  summary: "stream the edge LB's forwarding decisions (frontend, client, backend, how it was chosen, drop reason) until interrupted or its reader goes away (| head); off, the trace costs a packet one load",
  flags: [
    { name: '--frontend', value: 'FRONTEND', help: 'only this frontend: 198.18.100.1:80/TCP; without a port, any of its ports', default: 'all' },
    { name: '--client', value: 'IP', help: 'only packets from this client address', default: 'all' },
    { name: '--count', value: 'N', help: 'stop after N decisions', default: 'no limit' },
    { name: '--duration', value: 'DURATION', help: 'stop after this long, e.g. 30s', default: 'no limit' },
    BPF_ROOT,
    { ...OUTPUT, help: 'table (one line a decision) or json (one object a line)' },
  ],
};

export const COMMANDS = [RUN, STATUS, SERVICES, BACKENDS, FLOWS, MAGLEV_SHOW, MAGLEV_COMPUTE, TRACE];

export interface ServicesConfig {
  bpfRoot: string;
  output: Output;
}

export interface MaglevComputeConfig {
  backendsFile: string;
  /** In range; whether it is prime, the table computation says. */
  size: number;
  seed: number;
  output: Output;
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

function choiceFlag<T extends string>(cmd: CommandSpec, v: Map<string, string>, name: string, choices: readonly T[], fallback: T): T {
  const raw = v.get(name);
  if (raw === undefined) return fallback;
  const choice = choices.find((c) => c === raw);
  if (choice === undefined) throw new UsageError(cmd.name, `flag ${name} must be one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
  return choice;
}

function seedFlag(cmd: CommandSpec, v: Map<string, string>, name: string): number {
  const raw = v.get(name);
  if (raw === undefined) return DEFAULT_MAGLEV_SEED;
  const seed = parseMaglevSeed(raw);
  if (seed === undefined) throw new UsageError(cmd.name, `flag ${name} must be ${SEED_HELP}, got ${JSON.stringify(raw)}`);
  return seed;
}

function maglevTableSizeFlag(v: Map<string, string>): number {
  const raw = v.get('--bpf-lb-maglev-table-size');
  if (raw === undefined) return DEFAULT_MAGLEV_TABLE_SIZE;
  const size = MAGLEV_TABLE_SIZES.find((m) => String(m) === raw);
  if (size === undefined) throw new UsageError(RUN.name, `flag --bpf-lb-maglev-table-size must be one of ${MAGLEV_TABLE_SIZES.join(', ')}, got ${JSON.stringify(raw)}`);
  return size;
}

function devicesFlag(raw: string | undefined): string[] | undefined {
  const devices = raw?.split(',').map((d) => d.trim());
  if (devices?.some((d) => !/^[^\s/]{1,15}$/.test(d))) throw new UsageError(RUN.name, `flag --devices: ${JSON.stringify(raw)} is not a comma-separated list of interface names`);
  return devices;
}

function configFile(file: string | undefined, readFile: (f: string) => string): { settings: FileSettings; warnings: string[] } {
  if (file === undefined) return { settings: {}, warnings: [] };
  let text: string;
  try {
    text = readFile(file);
  } catch (e) {
    throw new UsageError(RUN.name, `--config ${file}: ${(e as Error).message}`);
  }
  try {
    return readKubeProxyConfig(text);
  } catch (e) {
    if (e instanceof ConfigFileError) throw new UsageError(RUN.name, `--config ${file}: ${e.message}`);
    throw e;
  }
}

function durationFlag(v: Map<string, string>, name: string): number | undefined {
  const raw = v.get(name);
  if (raw === undefined) return undefined;
  const ms = parseDuration(raw);
  if (ms === undefined) throw new UsageError(RUN.name, `flag ${name} must be a duration such as 1s, 500ms or 1m30s, got ${JSON.stringify(raw)}`);
  return ms;
}

function portRangesFlag(v: Map<string, string>, name: string, most: number): PortRange[] | undefined {
  const raw = v.get(name);
  if (raw === undefined) return undefined;
  const ranges = raw.split(',').map((text) => {
    const r = parsePortRange(text);
    if (r === undefined) throw new UsageError(RUN.name, `flag ${name}: ${JSON.stringify(text)} is not a port range MIN-MAX within 1-65535`);
    return r;
  });
  if (ranges.length > most) throw new UsageError(RUN.name, `flag ${name} takes at most ${most} range${most > 1 ? 's' : ''}, got ${ranges.length}`);
  ranges.sort((a, b) => a.min - b.min);
  if (ranges.some((r, i) => i > 0 && r.min <= ranges[i - 1].max)) throw new UsageError(RUN.name, `flag ${name}: ranges overlap in ${JSON.stringify(raw)}`);
  return ranges;
}

function gcInterval(v: Map<string, string>): number {
  const ms = durationFlag(v, '--conntrack-gc-interval') ?? DEFAULT_GC_INTERVAL_MS;
  if (ms < 1000 || ms > MAX_PERIOD_MS) throw new UsageError(RUN.name, `flag --conntrack-gc-interval must be from 1s to ${formatDuration(MAX_PERIOD_MS)}, got ${JSON.stringify(v.get('--conntrack-gc-interval'))}`);
  return ms;
}

/** Whole seconds, at least one: what the datapath counts in. */
function flowTimeouts(v: Map<string, string>): FlowTimeouts {
  const out = { ...DEFAULT_FLOW_TIMEOUTS };
  for (const f of FLOW_TIMEOUT_FLAGS) {
    const ms = durationFlag(v, f.flag);
    if (ms === undefined) continue;
    if (ms < 1000 || ms % 1000 !== 0 || ms / 1000 > MAX_TIMEOUT_S) {
      throw new UsageError(RUN.name, `flag ${f.flag} must be whole seconds from 1s to ${formatDuration(MAX_TIMEOUT_S * 1000)}, got ${JSON.stringify(v.get(f.flag))}`);
    }
    out[f.field] = ms / 1000;
  }
  return out;
}

function nodePortAddressesFlag(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const parsed = parseNodePortAddresses(raw.split(',').map((text) => text.trim()));
  if ('problem' in parsed) throw new UsageError(RUN.name, `flag --nodeport-addresses: ${parsed.problem}`);
  return parsed.entries;
}

/** Where a setting came from, for its errors: the flag, else the config
 *  file's field (undefined: neither, the default applies). */
function origin(v: Map<string, string>, flag: string, field: string, file: FileSettings, key: keyof FileSettings): string {
  return v.has(flag) ? `flag ${flag}` : file[key] !== undefined ? `--config: ${field}` : `default of ${flag}`;
}

function bindFlag(raw: string, name: string, defaultPort: number): BindAddress | undefined {
  try {
    return parseBindAddress(raw, defaultPort);
  } catch (e) {
    throw new UsageError(RUN.name, `${name}: ${(e as Error).message}`);
  }
}

// RFC 1123 subdomain: what the API accepts as a Node's name.
const NODE_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The node name override, checked as kube-proxy takes it: trimmed and lowercased. */
function hostnameOverride(v: Map<string, string>, file: FileSettings): string | undefined {
  const raw = v.get('--hostname-override') ?? file.hostnameOverride;
  if (raw !== undefined && !NODE_NAME.test(raw.trim().toLowerCase())) {
    const from = origin(v, '--hostname-override', 'hostnameOverride', file, 'hostnameOverride');
    throw new UsageError(RUN.name, `${from}: ${JSON.stringify(raw.slice(0, 60))} is not a valid node name (letters, digits, '-' and '.', at most 253)`);
  }
  return raw;
}

function absolutePathFlag(v: Map<string, string>, name: string): string | undefined {
  const raw = v.get(name);
  if (raw !== undefined && !path.isAbsolute(raw)) throw new UsageError(RUN.name, `flag ${name} must be an absolute path, got ${JSON.stringify(raw)}`);
  return raw;
}

/** Timers take at most 2^31-1 ms; a longer one would fire at once, again and again. */
const MAX_PERIOD_MS = 2 ** 31 - 1;
/** The datapath keeps timeouts in 32 bits of seconds; a year is more than any flow needs. */
const MAX_TIMEOUT_S = 366 * 24 * 3600;


function apiServerFlag(v: Map<string, string>): string | undefined {
  const raw = v.get('--k8s-api-server');
  if (raw === undefined) return undefined;
  try {
    return parseApiServer(raw).href;
  } catch (e) {
    throw new UsageError(RUN.name, `flag --k8s-api-server: ${(e as Error).message}`);
  }
}

function sourceConfig(v: Map<string, string>, file: FileSettings, env: NodeJS.ProcessEnv, readFile: (f: string) => string): SourceConfig {
  const manifests = v.get('--manifests');
  const kubeconfig = v.get('--kubeconfig');
  for (const other of ['--kubeconfig', '--k8s-api-server']) {
    if (manifests !== undefined && v.has(other)) throw new UsageError(RUN.name, `flags --manifests and ${other} exclude each other`);
  }
  if (manifests !== undefined) return { kind: 'manifests', path: manifests };
  const apiServer = apiServerFlag(v);
  const fromFile = kubeconfig ?? file.kubeconfig;
  if (fromFile === undefined && apiServer === undefined) {
    if (!env.KUBERNETES_SERVICE_HOST) {
      throw new UsageError(RUN.name, 'flag --manifests, --kubeconfig or --k8s-api-server is required outside a cluster (KUBERNETES_SERVICE_HOST is not set)');
    }
    // Checked now: a chart value gone wrong stops the agent with its name, not at the first connection.
    try {
      inClusterServer(env);
    } catch (e) {
      throw new UsageError(RUN.name, `in-cluster: ${(e as Error).message}`);
    }
  }
  if (fromFile !== undefined) {
    // Read now, so that a wrong path stops the agent before it touches the node.
    try {
      readFile(fromFile);
    } catch (e) {
      throw new UsageError(RUN.name, `${kubeconfig !== undefined ? 'flag --kubeconfig' : '--config: clientConnection.kubeconfig'} ${fromFile}: ${(e as Error).message}`);
    }
  }
  return { kind: 'kubernetes', kubeconfig: fromFile, apiServer };
}

export function runConfig(args: string[], env: NodeJS.ProcessEnv = process.env, readFile = (f: string) => fs.readFileSync(f, 'utf8')): RunConfig | 'help' {
  const v = parseFlags(RUN, args);
  if (v === 'help') return v;
  const { settings: file, warnings } = configFile(v.get('--config'), readFile);
  const source = sourceConfig(v, file, env, readFile);
  const logLevel = choiceFlag(RUN, v, '--log-level', LOG_LEVELS, 'info');
  const defaultMin = source.kind === 'manifests' ? STANDALONE_MIN_SYNC_PERIOD_MS : KUBERNETES_MIN_SYNC_PERIOD_MS;
  const minSyncPeriodMs = durationFlag(v, '--min-sync-period') ?? file.minSyncPeriodMs ?? defaultMin;
  const syncPeriodMs = durationFlag(v, '--sync-period') ?? file.syncPeriodMs ?? SYNC_PERIOD_MS;
  const syncFrom = origin(v, '--sync-period', 'syncPeriod', file, 'syncPeriodMs');
  const minSyncFrom = origin(v, '--min-sync-period', 'minSyncPeriod', file, 'minSyncPeriodMs');
  if (syncPeriodMs <= 0) throw new UsageError(RUN.name, `${syncFrom}: the sync period must be greater than 0`);
  for (const [ms, from] of [[syncPeriodMs, syncFrom], [minSyncPeriodMs, minSyncFrom]] as const) {
    if (ms > MAX_PERIOD_MS) throw new UsageError(RUN.name, `${from}: ${formatDuration(ms)} is longer than the longest period, ${formatDuration(MAX_PERIOD_MS)}`);
  }
  if (syncPeriodMs < minSyncPeriodMs) {
    throw new UsageError(RUN.name, `${syncFrom}: the sync period (${formatDuration(syncPeriodMs)}) must not be shorter than the min sync period (${formatDuration(minSyncPeriodMs)}, ${minSyncFrom})`);
  }
  const metrics = v.get('--metrics-bind-address') ?? file.metricsBindAddress;
  const healthz = v.get('--healthz-bind-address') ?? file.healthzBindAddress;
  const nodePortAddresses = nodePortAddressesFlag(v.get('--nodeport-addresses')) ?? file.nodePortAddresses ?? [];
  return {
    source,
    hostnameOverride: hostnameOverride(v, file),
    nodePortAddresses,
    minSyncPeriodMs,
    syncPeriodMs,
    metrics: bindFlag(metrics ?? `127.0.0.1:${METRICS_PORT}`, origin(v, '--metrics-bind-address', 'metricsBindAddress', file, 'metricsBindAddress'), METRICS_PORT),
    healthz: bindFlag(healthz ?? `0.0.0.0:${HEALTHZ_PORT}`, origin(v, '--healthz-bind-address', 'healthzBindAddress', file, 'healthzBindAddress'), HEALTHZ_PORT),
    metricsPerService: choiceFlag(RUN, v, '--metrics-per-service', ['true', 'false'], 'false') === 'true',
    metricsKubeProxyTotalGauge: choiceFlag(RUN, v, '--metrics-kube-proxy-total-gauge', ['true', 'false'], 'false') === 'true',
    bindAddressHardFail: file.bindAddressHardFail ?? false,
    configWarnings: [...warnings, ...nodePortAddressWarnings(nodePortAddresses)],
    bpfRoot: absolutePathFlag(v, '--bpf-root') ?? DEFAULT_BPF_ROOT,
    cgroupRoot: absolutePathFlag(v, '--cgroup-root'),
    bpfObjectDir: absolutePathFlag(v, '--bpf-object-dir'),
    lbMapMax: integerFlag(RUN, v, '--bpf-lb-map-max', 1, MAX_MAP_ENTRIES),
    revNatMapMax: integerFlag(RUN, v, '--bpf-lb-sock-rev-nat-map-max', 1, MAX_MAP_ENTRIES),
    fragmentsMapMax: integerFlag(RUN, v, '--bpf-fragments-map-max', 1, MAX_MAP_ENTRIES),
    lbMode: choiceFlag(RUN, v, '--bpf-lb-mode', LB_MODES, 'snat'),
    lbAlgorithm: choiceFlag(RUN, v, '--bpf-lb-algorithm', LB_ALGORITHMS, 'maglev'),
    maglevTableSize: maglevTableSizeFlag(v),
    maglevSeed: seedFlag(RUN, v, '--bpf-lb-maglev-hash-seed'),
    lbSourceRangeAllTypes: choiceFlag(RUN, v, '--bpf-lb-source-range-all-types', ['true', 'false'], 'false') === 'true',
    noBackendResponse: choiceFlag(RUN, v, '--service-no-backend-response', NO_BACKEND_RESPONSES, 'reject'),
    acceleration: choiceFlag(RUN, v, '--bpf-lb-acceleration', XDP_ACCELERATIONS, 'best-effort'),
    devices: devicesFlag(v.get('--devices')),
    snatPorts: portRangesFlag(v, '--bpf-lb-snat-port-range', MAX_SNAT_RANGES),
    flowTimeouts: flowTimeouts(v),
    gcIntervalMs: gcInterval(v),
    logLevel,
  };
}

function outputFlag(cmd: CommandSpec, v: Map<string, string>): Output {
  return choiceFlag(cmd, v, '--output', OUTPUTS, 'table');
}

export interface StatusConfig {
  bpfRoot: string;
  healthz: BindAddress;
  output: Output;
}

export function statusConfig(args: string[]): StatusConfig | 'help' {
  const v = parseFlags(STATUS, args);
  if (v === 'help') return v;
  const raw = v.get('--healthz-bind-address') ?? DEFAULT_HEALTHZ;
  const healthz = parseBindAddress(raw, HEALTHZ_PORT);
  if (!healthz || healthz.port === 0) throw new UsageError(STATUS.name, `flag --healthz-bind-address: ${JSON.stringify(raw)} is not IP:PORT`);
  return { bpfRoot: v.get('--bpf-root') ?? DEFAULT_BPF_ROOT, healthz, output: outputFlag(STATUS, v) };
}

/** The flags of the commands that list pinned maps (services, backends, flows). */
export function servicesConfig(args: string[], cmd: CommandSpec = SERVICES): ServicesConfig | 'help' {
  const v = parseFlags(cmd, args);
  if (v === 'help') return v;
  return { bpfRoot: v.get('--bpf-root') ?? DEFAULT_BPF_ROOT, output: outputFlag(cmd, v) };
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

export function maglevShowConfig(args: string[]): MaglevShowConfig | 'help' {
  const [operand, ...rest] = args;
  const v = parseFlags(MAGLEV_SHOW, rest);
  if (v === 'help') return v;
  const frontend = parseFrontendArg(operand);
  if (!frontend) throw new UsageError(MAGLEV_SHOW.name, `${JSON.stringify(operand)} is not a frontend: give ADDRESS:PORT[/PROTOCOL], such as 198.18.100.1:80/TCP or [fd00:198:18:100::1]:53/UDP`);
  return { frontend, bpfRoot: v.get('--bpf-root') ?? DEFAULT_BPF_ROOT, output: outputFlag(MAGLEV_SHOW, v) };
}

export interface TraceConfig {
  frontend?: FrontendKey | { addr: string };
  client?: string;
  count?: number;
  durationMs?: number;
  bpfRoot: string;
  output: Output;
}

export function traceConfig(args: string[]): TraceConfig | 'help' {
  const v = parseFlags(TRACE, args);
  if (v === 'help') return v;
  const cfg: TraceConfig = { bpfRoot: v.get('--bpf-root') ?? DEFAULT_BPF_ROOT, output: outputFlag(TRACE, v) };
  const fe = v.get('--frontend');
  if (fe !== undefined) {
    const addr = canonicalIp(fe);
    cfg.frontend = addr ? { addr } : parseFrontendArg(fe);
    if (!cfg.frontend) throw new UsageError(TRACE.name, `flag --frontend: ${JSON.stringify(fe)} is not ADDRESS[:PORT[/PROTOCOL]]`);
  }
  const client = v.get('--client');
  if (client !== undefined) {
    cfg.client = canonicalIp(client);
    if (!cfg.client) throw new UsageError(TRACE.name, `flag --client: ${JSON.stringify(client)} is not an IP address`);
  }
  if (v.has('--count')) cfg.count = integerFlag(TRACE, v, '--count', 1, 1_000_000_000);
  const duration = v.get('--duration');
  if (duration !== undefined) {
    cfg.durationMs = parseDuration(duration);
    if (cfg.durationMs === undefined || cfg.durationMs <= 0) throw new UsageError(TRACE.name, `flag --duration: ${JSON.stringify(duration)} is not a duration such as 30s or 5m`);
  }
  return cfg;
}

export function commandHelp(cmd: CommandSpec): string {
  const left = cmd.flags.map((f) => `  ${f.alias ? `${f.alias}, ` : ''}${f.name} ${f.value}`);
  const width = Math.max(...left.map((l) => l.length)) + 2;
  const lines = cmd.flags.map((f, i) => `${left[i].padEnd(width)}${f.help}${f.default ? ` (default: ${f.default})` : ''}`);
  return `usage: kpr ${cmd.name}${cmd.operand ? ` ${cmd.operand}` : ''} [flags]\n\n${cmd.summary}\n\nflags:\n${lines.join('\n')}\n  -h, --help\n`;
}

export function mainHelp(): string {
  const usage = (c: CommandSpec) => (c.operand ? `${c.name} ${c.operand}` : c.name);
  const width = Math.max(...COMMANDS.map((c) => usage(c).length)) + 2;
  const lines = COMMANDS.map((c) => `  ${usage(c).padEnd(width)}${c.summary}`);
  return `usage: kpr <command> [flags]\n\ncommands:\n${lines.join('\n')}\n\nkpr <command> --help shows the flags of a command.\n`;
}
