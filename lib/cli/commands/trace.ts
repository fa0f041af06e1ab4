// kpr trace: the edge LB's forwarding decisions as they happen, until a
// limit, an interrupt or its reader goes away. The trace is leased: an
// interrupted reader that cannot stop it leaves it to lapse.
import { decision, Decision } from '../../datapath/edge/trace';
import { FrontendKey, loadAddon } from '../../datapath/native';
import { formatFrontend } from '../../model/frontend';
import { canonicalIp } from '../../model/ip_address';
import { command } from '../command';
import { CommandSpec, durationFlag, integerFlag, parseFlags, UsageError } from '../flags';
import { stdoutClosed } from '../output';
import { pinnedMapDir } from '../pinned_maps';
import { BPF_ROOT, bpfRootFlag, Output, OUTPUT, outputFlag, parseFrontendArg } from '../shared_flags';

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
  const cfg: TraceConfig = { bpfRoot: bpfRootFlag(v), output: outputFlag(TRACE, v) };
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
  cfg.durationMs = durationFlag(TRACE, v, '--duration');
  if (cfg.durationMs !== undefined && cfg.durationMs <= 0) throw new UsageError(TRACE.name, `flag --duration must be longer than 0, got ${JSON.stringify(v.get('--duration'))}`);
  return cfg;
}

/** "5012.345678 198.18.0.1:41000 -> 198.18.100.1:80/TCP: 198.18.10.11:8080 (maglev, dsr)" */
function formatDecision(d: Decision): string {
  const head = `${d.time.toFixed(6)} ${d.client} -> ${d.frontend}:`;
  if (d.action === 'drop') return `${head} dropped (${d.reason})${d.backend ? `, backend ${d.backend} (${d.pick})` : ''}`;
  if (d.pick === 'none') return `${head} rejected (${d.reason})`;
  return `${head} ${d.backend} (${d.pick}, ${d.path})`;
}

/** How long a trace outlives its reader (renewed twice as often). */
const TRACE_LEASE_MS = 2000;
const TRACE_POLL_MS = 200;

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

export const traceCommand = command(TRACE, traceConfig, trace);
