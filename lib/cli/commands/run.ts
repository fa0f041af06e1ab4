// kpr run: its flags and kube-proxy configuration file turned into the
// agent's RunConfig, every value checked before the agent touches the node,
// each error naming the flag or the file's field at fault.
import { PodInterfaceChoice } from '../../host/pod_interfaces';
import * as fs from 'fs';
import * as path from 'path';
import { runAgent } from '../../agent';
import { BindAddress, parseBindAddress } from '../../bind_address';
import { XDP_ACCELERATIONS } from '../../datapath/edge/attach';
import { MAGLEV_TABLE_SIZES, DEFAULT_MAGLEV_TABLE_SIZE } from '../../datapath/edge/maglev';
import { DEFAULT_FLOW_TIMEOUTS, FLOW_TIMEOUT_FLAGS } from '../../datapath/edge/flow_timeouts';
import { MAX_SNAT_RANGES, parsePortRange } from '../../datapath/edge/snat_ports';
import { FlowTimeouts, PortRange } from '../../datapath/native';
import { ConntrackSettings, KUBE_PROXY_CONNTRACK } from '../../host/conntrack_sysctls';
import { formatDuration } from '../../duration';
import { ConfigFileError, definedOnly, FileSettings, readKubeProxyConfig } from '../../kubeproxy_config';
import { createLogger, LOG_LEVELS } from '../../log';
import { LB_MODES } from '../../model/forwarding_mode';
import { LB_ALGORITHMS } from '../../model/lb_algorithm';
import { nodePortAddressWarnings, parseNodePortAddresses } from '../../model/nodeport_addresses';
import { NO_BACKEND_RESPONSES, RunConfig, SourceConfig } from '../../run_config';
import { inClusterServer, parseApiServer } from '../../sources/kube_config';
import { validServiceProxyName } from '../../sources/kubernetes_filters';
import { command } from '../command';
import { booleanFlag, choiceFlag, durationFlag, FlagValues, integerFlag, parseFlags, UsageError } from '../flags';
import { DEFAULT_BPF_ROOT, DEFAULT_HEALTHZ, DEFAULT_METRICS, HEALTHZ_PORT, METRICS_PORT, seedFlag } from '../shared_flags';
import { DEFAULT_GC_INTERVAL_MS, KUBERNETES_MIN_SYNC_PERIOD_MS, RUN, STANDALONE_MIN_SYNC_PERIOD_MS, SYNC_PERIOD_MS } from './run_flags';

// The addon's KPR_MAP_MAX_LIMIT (bpf/include/kpr_consts.h): the same limit,
// checked here first so that the error names the flag.
const MAX_MAP_ENTRIES = 1 << 24;

function maglevTableSizeFlag(v: FlagValues): number {
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

function serviceProxyNameFlag(raw: string | undefined): string | undefined {
  if (raw !== undefined && !validServiceProxyName(raw)) {
    throw new UsageError(RUN.name, `flag --service-proxy-name: ${JSON.stringify(raw)} is not a label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit): no Service could be labelled with it`);
  }
  return raw;
}

/** --bpf-lb-pod-interfaces: 'auto', 'none' or names and prefixes ("lxc+");
 *  by default 'auto' with Kubernetes, 'none' standalone (no pods there). */
function podInterfacesFlag(raw: string | undefined, kubernetes: boolean): PodInterfaceChoice | undefined {
  if (raw === undefined) return kubernetes ? 'auto' : undefined;
  if (raw === 'none') return undefined;
  if (raw === 'auto') return raw;
  const names = raw.split(',').map((d) => d.trim());
  if (names.some((d) => !/^[^\s/+]{1,15}\+?$/.test(d))) {
    throw new UsageError(RUN.name, `flag --bpf-lb-pod-interfaces: ${JSON.stringify(raw)} is not auto, none or a comma-separated list of interface names and prefixes (lxc+)`);
  }
  return names;
}

function configFile(file: string | undefined, readFile: (f: string) => string): { settings: FileSettings; warnings: string[] } {
  if (file === undefined) return { settings: { conntrack: {} }, warnings: [] };
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

function portRangesFlag(v: FlagValues, name: string, most: number): PortRange[] | undefined {
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

function gcInterval(v: FlagValues): number {
  const ms = durationFlag(RUN, v, '--conntrack-gc-interval') ?? DEFAULT_GC_INTERVAL_MS;
  if (ms < 1000 || ms > MAX_PERIOD_MS) throw new UsageError(RUN.name, `flag --conntrack-gc-interval must be from 1s to ${formatDuration(MAX_PERIOD_MS)}, got ${JSON.stringify(v.get('--conntrack-gc-interval'))}`);
  return ms;
}

/** Whole seconds, at least one: what the datapath counts in. A kube-proxy
 *  flag not given takes the config file's field of the same meaning. */
function flowTimeouts(v: FlagValues, file: FileSettings): FlowTimeouts {
  const out = { ...DEFAULT_FLOW_TIMEOUTS };
  for (const f of FLOW_TIMEOUT_FLAGS) {
    const ms = durationFlag(RUN, v, f.flag);
    if (ms === undefined) {
      const fromFile = f.node && file.conntrack[f.node];
      if (fromFile) out[f.field] = Math.min(fromFile, MAX_TIMEOUT_S);
      continue;
    }
    if (ms < 1000 || ms % 1000 !== 0 || ms / 1000 > MAX_TIMEOUT_S) {
      throw new UsageError(RUN.name, `flag ${f.flag} must be whole seconds from 1s to ${formatDuration(MAX_TIMEOUT_S * 1000)}, got ${JSON.stringify(v.get(f.flag))}`);
    }
    out[f.field] = ms / 1000;
  }
  return out;
}

/** The node's conntrack settings (host/conntrack_sysctls.ts): flags over the
 *  config file over kube-proxy's defaults, which apply with Kubernetes only. */
function conntrackSettings(v: FlagValues, file: FileSettings, kubernetes: boolean): ConntrackSettings {
  const flags: ConntrackSettings = {};
  const count = (name: string) => (v.has(name) ? integerFlag(RUN, v, name, 0, MAX_CONNTRACK_ENTRIES) : undefined);
  flags.maxPerCore = count('--conntrack-max-per-core');
  flags.min = count('--conntrack-min');
  const closeWait = durationFlag(RUN, v, '--conntrack-tcp-timeout-close-wait');
  if (closeWait !== undefined) flags.tcpCloseWait = Math.floor(closeWait / 1000);
  if (v.has('--conntrack-tcp-be-liberal')) flags.tcpBeLiberal = booleanFlag(RUN, v, '--conntrack-tcp-be-liberal');
  for (const f of FLOW_TIMEOUT_FLAGS) {
    const ms = f.node && durationFlag(RUN, v, f.flag);
    if (f.node && ms) flags[f.node] = ms / 1000;
  }
  return { ...(kubernetes ? KUBE_PROXY_CONNTRACK : {}), ...file.conntrack, ...definedOnly(flags) };
}

function nodePortAddressesFlag(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const parsed = parseNodePortAddresses(raw.split(',').map((text) => text.trim()));
  if ('problem' in parsed) throw new UsageError(RUN.name, `flag --nodeport-addresses: ${parsed.problem}`);
  return parsed.entries;
}

/** Where a setting came from, for its errors: the flag, else the config
 *  file's field (undefined: neither, the default applies). */
function origin(v: FlagValues, flag: string, field: string, file: FileSettings, key: keyof FileSettings): string {
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
function hostnameOverride(v: FlagValues, file: FileSettings): string | undefined {
  const raw = v.get('--hostname-override') ?? file.hostnameOverride;
  if (raw !== undefined && !NODE_NAME.test(raw.trim().toLowerCase())) {
    const from = origin(v, '--hostname-override', 'hostnameOverride', file, 'hostnameOverride');
    throw new UsageError(RUN.name, `${from}: ${JSON.stringify(raw.slice(0, 60))} is not a valid node name (letters, digits, '-' and '.', at most 253)`);
  }
  return raw;
}

function absolutePathFlag(v: FlagValues, name: string): string | undefined {
  const raw = v.get(name);
  if (raw !== undefined && !path.isAbsolute(raw)) throw new UsageError(RUN.name, `flag ${name} must be an absolute path, got ${JSON.stringify(raw)}`);
  return raw;
}

/** Timers take at most 2^31-1 ms; a longer one would fire at once, again and again. */
const MAX_PERIOD_MS = 2 ** 31 - 1;
/** The datapath keeps timeouts in 32 bits of seconds; a year is more than any flow needs. */
const MAX_TIMEOUT_S = 366 * 24 * 3600;
/** kube-proxy's own bound on the entries it asks for. */
const MAX_CONNTRACK_ENTRIES = 1 << 30;


function apiServerFlag(v: FlagValues): string | undefined {
  const raw = v.get('--k8s-api-server');
  if (raw === undefined) return undefined;
  try {
    return parseApiServer(raw).href;
  } catch (e) {
    throw new UsageError(RUN.name, `flag --k8s-api-server: ${(e as Error).message}`);
  }
}

function sourceConfig(v: FlagValues, file: FileSettings, env: NodeJS.ProcessEnv, readFile: (f: string) => string): SourceConfig {
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
  const logLevel = choiceFlag(RUN, v, '--log-level', LOG_LEVELS);
  const defaultMin = source.kind === 'manifests' ? STANDALONE_MIN_SYNC_PERIOD_MS : KUBERNETES_MIN_SYNC_PERIOD_MS;
  const minSyncPeriodMs = durationFlag(RUN, v, '--min-sync-period') ?? file.minSyncPeriodMs ?? defaultMin;
  const syncPeriodMs = durationFlag(RUN, v, '--sync-period') ?? file.syncPeriodMs ?? SYNC_PERIOD_MS;
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
  const localhostNodePorts = v.has('--iptables-localhost-nodeports') ? booleanFlag(RUN, v, '--iptables-localhost-nodeports') : (file.localhostNodePorts ?? true);
  return {
    source,
    hostnameOverride: hostnameOverride(v, file),
    serviceProxyName: serviceProxyNameFlag(v.get('--service-proxy-name')),
    nodePortAddresses,
    localhostNodePorts,
    minSyncPeriodMs,
    syncPeriodMs,
    metrics: bindFlag(metrics ?? DEFAULT_METRICS, origin(v, '--metrics-bind-address', 'metricsBindAddress', file, 'metricsBindAddress'), METRICS_PORT),
    healthz: bindFlag(healthz ?? DEFAULT_HEALTHZ, origin(v, '--healthz-bind-address', 'healthzBindAddress', file, 'healthzBindAddress'), HEALTHZ_PORT),
    metricsPerService: booleanFlag(RUN, v, '--metrics-per-service'),
    metricsKubeProxyTotalGauge: booleanFlag(RUN, v, '--metrics-kube-proxy-total-gauge'),
    bindAddressHardFail: file.bindAddressHardFail ?? false,
    configWarnings: [...warnings, ...nodePortAddressWarnings(nodePortAddresses, localhostNodePorts)],
    bpfRoot: absolutePathFlag(v, '--bpf-root') ?? DEFAULT_BPF_ROOT,
    cgroupRoot: absolutePathFlag(v, '--cgroup-root'),
    procfs: absolutePathFlag(v, '--procfs') ?? '/proc',
    bpfObjectDir: absolutePathFlag(v, '--bpf-object-dir'),
    lbMapMax: integerFlag(RUN, v, '--bpf-lb-map-max', 1, MAX_MAP_ENTRIES),
    revNatMapMax: integerFlag(RUN, v, '--bpf-lb-sock-rev-nat-map-max', 1, MAX_MAP_ENTRIES),
    fragmentsMapMax: integerFlag(RUN, v, '--bpf-fragments-map-max', 1, MAX_MAP_ENTRIES),
    lbMode: choiceFlag(RUN, v, '--bpf-lb-mode', LB_MODES),
    lbAlgorithm: choiceFlag(RUN, v, '--bpf-lb-algorithm', LB_ALGORITHMS),
    maglevTableSize: maglevTableSizeFlag(v),
    maglevSeed: seedFlag(RUN, v, '--bpf-lb-maglev-hash-seed'),
    lbSourceRangeAllTypes: booleanFlag(RUN, v, '--bpf-lb-source-range-all-types'),
    externalClusterIP: booleanFlag(RUN, v, '--bpf-lb-external-clusterip'),
    sockHostnsOnly: booleanFlag(RUN, v, '--bpf-lb-sock-hostns-only'),
    noBackendResponse: choiceFlag(RUN, v, '--service-no-backend-response', NO_BACKEND_RESPONSES),
    acceleration: choiceFlag(RUN, v, '--bpf-lb-acceleration', XDP_ACCELERATIONS),
    devices: devicesFlag(v.get('--devices')),
    podInterfaces: podInterfacesFlag(v.get('--bpf-lb-pod-interfaces'), source.kind !== 'manifests'),
    snatPorts: portRangesFlag(v, '--bpf-lb-snat-port-range', MAX_SNAT_RANGES),
    flowTimeouts: flowTimeouts(v, file),
    conntrack: conntrackSettings(v, file, source.kind !== 'manifests'),
    gcIntervalMs: gcInterval(v),
    logLevel,
  };
}

async function run(cfg: RunConfig): Promise<number> {
  await runAgent(cfg, createLogger(cfg.logLevel));
  return 0;
}

export const runCommand = command(RUN, runConfig, run);
