// kube-proxy's conntrack settings (pkg/proxy/conntrack/sysctls.go), applied
// to the node's nf_conntrack as kube-proxy applies them once at start. kpr's
// own load balancing keeps no conntrack state (the socket LB translates at
// connect(), the edge LB has its flow tables), but everything kpr passes to
// the stack still lives by these: pods' connections to other nodes'
// addresses, hostPorts through a CNI, the node's own traffic. Operators tune
// them through kube-proxy's flags and config, so kpr takes the same ones:
// - nf_conntrack_max from maxPerCore times the node's CPUs, at least min, at
//   most 1M, only ever raised; the module's hashsize raised to a quarter of
//   it. Both are the host's (writable in its first network namespace only):
//   elsewhere a warning, not a failure.
// - The TCP established and CLOSE_WAIT timeouts, be_liberal and the UDP
//   timeouts, per network namespace: the agent's, the node's.
// In Kubernetes mode kube-proxy's defaults apply (32768 per core, min
// 131072, 24h established, 1h CLOSE_WAIT); standalone, only what the flags
// or the config file say: a load balancer on a plain host leaves the host's
// conntrack as it found it. Without nf_conntrack loaded there is nothing to
// set (kube-proxy loads it through iptables; kpr has no use for it itself).
import * as fs from 'fs';
import * as os from 'os';
import { Logger } from '../log';

export interface ConntrackSettings {
  maxPerCore?: number;
  min?: number;
  /** Seconds. */
  tcpEstablished?: number;
  tcpCloseWait?: number;
  tcpBeLiberal?: boolean;
  udp?: number;
  udpStream?: number;
}

/** kube-proxy's defaults (cmd/kube-proxy, v1alpha1 defaults). */
export const KUBE_PROXY_CONNTRACK: ConntrackSettings = { maxPerCore: 32768, min: 131072, tcpEstablished: 86_400, tcpCloseWait: 3600 };

/** kube-proxy's cap on the scaled maximum, against huge tables on many-core machines. */
const MAX_LIMIT = 1_048_576;

/** The nf_conntrack_max kube-proxy asks for on cpus CPUs; 0: none. */
export function conntrackMax(s: ConntrackSettings, cpus: number): number {
  if (!s.maxPerCore) return 0;
  return Math.min(MAX_LIMIT, Math.max(s.maxPerCore * cpus, s.min ?? 0));
}

/** Where the settings are read and written; the real files by default. */
export interface ConntrackFiles {
  read(file: string): string | undefined;
  write(file: string, value: string): void;
}

const HASHSIZE = '/sys/module/nf_conntrack/parameters/hashsize';

const realFiles: ConntrackFiles = {
  read: (file) => {
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch {
      return undefined;
    }
  },
  write: (file, value) => fs.writeFileSync(file, value),
};

/** Online CPUs of the node, not of this process's cpuset (nf_conntrack_max is host-wide). */
function nodeCpus(files: ConntrackFiles): number {
  const online = files.read('/sys/devices/system/cpu/online');
  const count = online?.split(',').reduce((n, r) => {
    const [a, b] = r.split('-').map(Number);
    return n + (b === undefined ? 1 : b - a + 1);
  }, 0);
  return count && Number.isInteger(count) && count > 0 ? count : os.cpus().length;
}

/** The sysctl writes the settings ask for, by file, in kube-proxy's order. */
function wanted(s: ConntrackSettings, cpus: number, current: (f: string) => string | undefined, netfilter: string): [string, number][] {
  const out: [string, number][] = [];
  const max = conntrackMax(s, cpus);
  if (max > 0) {
    if (!(Number(current(`${netfilter}/nf_conntrack_max`)) >= max)) out.push([`${netfilter}/nf_conntrack_max`, max]);
    if (!(Number(current(HASHSIZE)) >= Math.floor(max / 4))) out.push([HASHSIZE, Math.floor(max / 4)]);
  }
  const timeouts: [number | undefined, string][] = [
    [s.tcpEstablished, 'nf_conntrack_tcp_timeout_established'],
    [s.tcpCloseWait, 'nf_conntrack_tcp_timeout_close_wait'],
    [s.tcpBeLiberal ? 1 : undefined, 'nf_conntrack_tcp_be_liberal'],
    [s.udp, 'nf_conntrack_udp_timeout'],
    [s.udpStream, 'nf_conntrack_udp_timeout_stream'],
  ];
  for (const [value, name] of timeouts) if (value) out.push([`${netfilter}/${name}`, value]);
  return out;
}

/** Applies the settings through procfs (--procfs: the node's, mounted in a
 *  container whose own /proc/sys is read-only; /proc/sys/net still answers
 *  for the writer's network namespace); returns what was set, as
 *  "file=value" lines. */
export function applyConntrackSettings(s: ConntrackSettings, log: Logger, procfs = '/proc', files: ConntrackFiles = realFiles): string[] {
  const netfilter = `${procfs}/sys/net/netfilter`;
  if (files.read(`${netfilter}/nf_conntrack_max`) === undefined) {
    if (Object.values(s).some((v) => v)) log.info('conntrack: nf_conntrack is not loaded here: no conntrack settings to apply');
    return [];
  }
  const set: string[] = [];
  // The hash size is the host's alone: left to whoever may set the maximum.
  let maxRefused = false;
  for (const [file, value] of wanted(s, nodeCpus(files), files.read, netfilter)) {
    if (files.read(file) === String(value) || (file === HASHSIZE && maxRefused)) continue;
    try {
      files.write(file, String(value));
      set.push(`${file}=${value}`);
    } catch (e) {
      maxRefused ||= file.endsWith('/nf_conntrack_max');
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'the host sets it (not writable in this network namespace)' : (e as Error).message;
      log.warn(`conntrack: ${file} left at ${files.read(file) ?? '?'}, not ${value}: ${why}`);
    }
  }
  if (set.length > 0) log.info(`conntrack: set ${set.join(', ')}`);
  return set;
}
