// kube-proxy's configuration file (KubeProxyConfiguration,
// kubeproxy.config.k8s.io/v1alpha1), so that a node's existing kube-proxy
// configuration works for kpr. Every field kube-proxy knows is accepted;
// those kpr applies are read and checked, those it does not apply are
// reported when they are set to anything but kube-proxy's default (a
// generated file spells out every field), and a field kube-proxy does not
// know is an error, as a typo would silently change nothing otherwise.
import * as yaml from 'js-yaml';
import { parseDuration } from './duration';
import type { ConntrackSettings } from './host/conntrack_sysctls';
import { parseNodePortAddresses } from './model/nodeport_addresses';
import { isJsonObject, Json } from './sources/field_reader';

export const API_VERSION = 'kubeproxy.config.k8s.io/v1alpha1';
export const KIND = 'KubeProxyConfiguration';

/** The settings kpr takes from the file; unset: the file does not set them. */
export interface FileSettings {
  hostnameOverride?: string;
  kubeconfig?: string;
  metricsBindAddress?: string;
  healthzBindAddress?: string;
  bindAddressHardFail?: boolean;
  /** Canonical CIDRs and keywords (model/nodeport_addresses.ts). */
  nodePortAddresses?: string[];
  /** iptables.localhostNodePorts; false in nftables mode, which has none. */
  localhostNodePorts?: boolean;
  /** The conntrack section, timeouts in seconds; only the fields set. */
  conntrack: ConntrackSettings;
  minSyncPeriodMs?: number;
  syncPeriodMs?: number;
}

export interface KubeProxyConfig {
  settings: FileSettings;
  /** Fields set that kpr does not apply, one line each. */
  warnings: string[];
}

export class ConfigFileError extends Error {
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
    this.name = 'ConfigFileError';
  }
}

/** durationOrNanos: logging.flushFrequency, which also takes a number. */
type Value = 'string' | 'bool' | 'int' | 'number' | 'duration' | 'durationOrNanos' | 'strings' | 'map';
interface Field {
  type: Value | Schema;
  /** Values that leave the field without effect besides empty ones; only
   *  for fields kpr does not apply. */
  inert?: unknown[];
}
interface Schema {
  [field: string]: Field;
}

const s = (inert: unknown[] = []): Field => ({ type: 'string', inert });
const b = (inert: unknown[] = []): Field => ({ type: 'bool', inert });
const i = (inert: unknown[] = []): Field => ({ type: 'int', inert });
const d = (inert: unknown[] = []): Field => ({ type: 'duration', inert });

const SYNC_PERIODS: Schema = { syncPeriod: d(), minSyncPeriod: d() };
const PROXY_MODES = ['', 'iptables', 'ipvs', 'nftables', 'kernelspace'];

/** Every field of v1alpha1, as current kube-proxy knows it. */
const SCHEMA: Schema = {
  apiVersion: s(),
  kind: s(),
  featureGates: { type: 'map' },
  clientConnection: {
    type: { kubeconfig: s(), acceptContentTypes: s(), contentType: s(['application/vnd.kubernetes.protobuf']), qps: { type: 'number', inert: [5] }, burst: i([10]) },
  },
  logging: {
    type: {
      format: s(['text']),
      flushFrequency: { type: 'durationOrNanos', inert: ['5s', 5_000_000_000] },
      verbosity: i(),
      vmodule: { type: 'map' },
      options: { type: 'map' },
    },
  },
  hostnameOverride: s(),
  bindAddress: s(['0.0.0.0']),
  healthzBindAddress: s(),
  metricsBindAddress: s(),
  bindAddressHardFail: b(),
  enableProfiling: b(),
  showHiddenMetricsForVersion: s(),
  mode: s(),
  iptables: { type: { masqueradeBit: i([14]), masqueradeAll: b(), localhostNodePorts: b(), snatNodeInternalIP: b(), ...SYNC_PERIODS } },
  ipvs: {
    type: { ...SYNC_PERIODS, scheduler: s(), excludeCIDRs: { type: 'strings' }, strictARP: b(), tcpTimeout: d(), tcpFinTimeout: d(), udpTimeout: d() },
  },
  nftables: { type: { masqueradeBit: i([14]), masqueradeAll: b(), ...SYNC_PERIODS } },
  winkernel: { type: { networkName: s(), sourceVip: s(), enableDSR: b(), rootHnsEndpointName: s(), forwardHealthCheckVip: b() } },
  detectLocalMode: s(),
  detectLocal: { type: { bridgeInterface: s(), interfaceNamePrefix: s() } },
  clusterCIDR: s(),
  nodePortAddresses: { type: 'strings' },
  oomScoreAdj: i([-999]),
  conntrack: {
    type: { maxPerCore: i(), min: i(), tcpEstablishedTimeout: d(), tcpCloseWaitTimeout: d(), tcpBeLiberal: b(), udpTimeout: d(), udpStreamTimeout: d() },
  },
  configSyncPeriod: d(['15m0s', '15m']),
  portRange: s(),
  windowsRunAsService: b(),
};

/** Fields kpr reads, and portRange, which kube-proxy itself no longer uses.
 *  The sync periods come from the section of the mode, as kube-proxy takes them. */
export const APPLIED_FIELDS = new Set([
  'apiVersion',
  'kind',
  'clientConnection.kubeconfig',
  'hostnameOverride',
  'healthzBindAddress',
  'metricsBindAddress',
  'bindAddressHardFail',
  'mode',
  'nodePortAddresses',
  'iptables.localhostNodePorts',
  ...['maxPerCore', 'min', 'tcpEstablishedTimeout', 'tcpCloseWaitTimeout', 'tcpBeLiberal', 'udpTimeout', 'udpStreamTimeout'].map((f) => `conntrack.${f}`),
  'portRange',
]);

function syncSection(mode: string): string {
  return mode === 'ipvs' || mode === 'nftables' ? mode : 'iptables';
}

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === '' || v === false || v === 0 || v === '0' || v === '0s') return true;
  if (Array.isArray(v)) return v.length === 0;
  return isJsonObject(v) && Object.values(v).every(isEmpty);
}

function checkType(v: unknown, type: Value, field: string): void {
  if (v === null) return;
  const fail = (what: string) => {
    throw new ConfigFileError(field, `must be ${what}, got ${JSON.stringify(v)}`);
  };
  switch (type) {
    case 'string':
      if (typeof v !== 'string') fail('a string');
      break;
    case 'bool':
      if (typeof v !== 'boolean') fail('true or false');
      break;
    case 'int':
      if (!Number.isInteger(v)) fail('an integer');
      break;
    case 'number':
      if (typeof v !== 'number') fail('a number');
      break;
    case 'durationOrNanos':
      if (Number.isInteger(v)) break;
    // falls through
    case 'duration':
      if (typeof v !== 'string' || parseDuration(v) === undefined) fail('a duration such as "1s", "500ms" or "1m30s"');
      break;
    case 'strings':
      if (!Array.isArray(v) || v.some((e) => typeof e !== 'string')) fail('a list of strings');
      break;
    case 'map':
      if (!isJsonObject(v)) fail('a map');
      break;
  }
}

/** Checks every field against the schema; returns the paths of the fields
 *  kpr does not apply that are set. */
function walk(doc: Json, schema: Schema, prefix: string, applied: Set<string>): string[] {
  const set: string[] = [];
  for (const [key, v] of Object.entries(doc)) {
    const field = `${prefix}${key}`;
    const spec = schema[key];
    if (!spec) throw new ConfigFileError(field, `unknown field (not in ${KIND} ${API_VERSION})`);
    if (typeof spec.type === 'object') {
      if (v === null) continue;
      if (!isJsonObject(v)) throw new ConfigFileError(field, `must be an object, got ${JSON.stringify(v)}`);
      set.push(...walk(v, spec.type, `${field}.`, applied));
      continue;
    }
    checkType(v, spec.type, field);
    const inert = isEmpty(v) || (spec.inert ?? []).includes(v);
    if (!applied.has(field) && !inert) set.push(field);
  }
  return set;
}

function durationMs(v: unknown): number | undefined {
  return typeof v === 'string' ? parseDuration(v) : undefined;
}

/** The field's entries; unset or empty: kube-proxy's default for the mode,
 *  "primary" in nftables mode, all addresses (undefined) in the others. */
function nodePortAddresses(v: unknown, mode: string): string[] | undefined {
  const parsed = parseNodePortAddresses((v ?? []) as string[]);
  if ('problem' in parsed) throw new ConfigFileError(`nodePortAddresses[${parsed.index}]`, parsed.problem);
  if (parsed.entries.length > 0) return parsed.entries;
  return mode === 'nftables' ? ['primary'] : undefined;
}

/** The fields of o that are set: what may override defaults. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function parse(text: string): Json {
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    const y = e as yaml.YAMLException;
    throw new ConfigFileError(y.mark ? `line ${y.mark.line + 1}` : 'file', y.reason ?? y.message);
  }
  if (!isJsonObject(doc)) throw new ConfigFileError('file', `must hold a ${KIND} object`);
  return doc;
}

export function readKubeProxyConfig(text: string): KubeProxyConfig {
  const doc = parse(text);
  if (doc.apiVersion !== API_VERSION) throw new ConfigFileError('apiVersion', `must be ${API_VERSION}, got ${JSON.stringify(doc.apiVersion ?? null)}`);
  if (doc.kind !== KIND) throw new ConfigFileError('kind', `must be ${KIND}, got ${JSON.stringify(doc.kind ?? null)}`);
  const mode = doc.mode ?? '';
  if (typeof mode !== 'string' || !PROXY_MODES.includes(mode)) {
    throw new ConfigFileError('mode', `must be one of ${PROXY_MODES.filter(Boolean).join(', ')}, got ${JSON.stringify(mode)}`);
  }
  const section = syncSection(mode);
  const applied = new Set([...APPLIED_FIELDS, `${section}.syncPeriod`, `${section}.minSyncPeriod`]);
  const unapplied = walk(doc, SCHEMA, '', applied);
  const client = (doc.clientConnection ?? {}) as Json;
  const periods = (doc[section] ?? {}) as Json;
  const iptables = (doc.iptables ?? {}) as Json;
  const ct = (doc.conntrack ?? {}) as Json;
  // 0s is kube-proxy's "leave the node's value alone", not unset: it beats the default.
  const seconds = (v: unknown) => {
    const ms = durationMs(v);
    return ms === undefined ? undefined : Math.floor(ms / 1000);
  };
  const count = (v: unknown, field: string) => {
    if (typeof v === 'number' && v < 0) throw new ConfigFileError(`conntrack.${field}`, `must not be negative, got ${v}`);
    return typeof v === 'number' ? v : undefined;
  };
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    settings: {
      hostnameOverride: str(doc.hostnameOverride),
      kubeconfig: str(client.kubeconfig),
      metricsBindAddress: str(doc.metricsBindAddress),
      healthzBindAddress: str(doc.healthzBindAddress),
      bindAddressHardFail: typeof doc.bindAddressHardFail === 'boolean' ? doc.bindAddressHardFail : undefined,
      nodePortAddresses: nodePortAddresses(doc.nodePortAddresses, mode),
      localhostNodePorts: mode === 'nftables' ? false : typeof iptables.localhostNodePorts === 'boolean' ? iptables.localhostNodePorts : undefined,
      conntrack: definedOnly({
        maxPerCore: count(ct.maxPerCore, 'maxPerCore'),
        min: count(ct.min, 'min'),
        tcpEstablished: seconds(ct.tcpEstablishedTimeout),
        tcpCloseWait: seconds(ct.tcpCloseWaitTimeout),
        tcpBeLiberal: typeof ct.tcpBeLiberal === 'boolean' ? ct.tcpBeLiberal : undefined,
        udp: seconds(ct.udpTimeout),
        udpStream: seconds(ct.udpStreamTimeout),
      }),
      minSyncPeriodMs: durationMs(periods.minSyncPeriod),
      syncPeriodMs: durationMs(periods.syncPeriod),
    },
    warnings: unapplied.map((f) => `${f} is set, but kpr does not apply it`),
  };
}
