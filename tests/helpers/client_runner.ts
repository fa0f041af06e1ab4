// Runs commands as a test client: inside a test cgroup (so the agent's socket
// programs apply to them) and a network namespace, via scripts/cg-netns-exec.
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { LineProcess } from './line_process';
import { CLIENT_DEFAULTS, ClientReport, HoldEvent, OneShotMode } from './client_report';

/** Where a client runs. */
export interface Place {
  /** Test cgroup directory (TestCgroup.path). */
  cgroup: string;
  ns: string;
}

export interface ClientRequest {
  mode: OneShotMode;
  addr: string;
  port: number;
  count: number;
  timeoutMs?: number;
  deadlineMs?: number;
  /** The least time between the starts of two exchanges: a paced load. */
  intervalMs?: number;
  /** transfer: bytes each connection sends and receives. */
  upload?: number;
  download?: number;
  /** udp-connected-new-socket, transfer: probe i leaves from this port + i (default: the kernel's pick). */
  sourcePort?: number;
  /** udp modes: every request this many bytes, asking for answers of answerBytes (sized_udp.ts). */
  requestBytes?: number;
  answerBytes?: number;
}

export interface HoldRequest {
  proto: 'tcp' | 'udp';
  addr: string;
  port: number;
  durationMs: number;
  intervalMs?: number;
  timeoutMs?: number;
  /** Flows held by the one process (default 1). */
  flows?: number;
  /** TCP: flow i connects from this port + i (default: any). */
  sourcePort?: number;
  /** UDP: each probe this many bytes (sized_udp.ts). */
  requestBytes?: number;
  /** Each answer this many bytes (TCP: after the backend's line). */
  answerBytes?: number;
}

const CG_NETNS_EXEC = path.join(repoRoot(), 'scripts', 'cg-netns-exec');
const CLIENT = path.join(__dirname, 'client.js');
// Starting node inside the namespace, on top of the client's own time bound.
const STARTUP_MARGIN_MS = 10_000;

export function spawnInPlace(place: Place, argv: string[]): LineProcess {
  return new LineProcess(`${argv.join(' ')} (in ${place.ns})`, CG_NETNS_EXEC, [place.cgroup, place.ns, ...argv]);
}

/** Runs argv to completion; rejects with its log on a non-zero exit or after timeoutMs. */
export async function runInPlace(place: Place, argv: string[], timeoutMs: number): Promise<LineProcess> {
  const proc = spawnInPlace(place, argv);
  await proc.waitForSuccess(timeoutMs);
  return proc;
}

function clientArgv(mode: string, options: Record<string, string | number | undefined>): string[] {
  const flags = Object.entries(options).flatMap(([k, v]) => (v === undefined ? [] : [`--${k}`, String(v)]));
  return [process.execPath, CLIENT, mode, ...flags];
}

function requestArgv(req: ClientRequest): string[] {
  return clientArgv(req.mode, {
    addr: req.addr,
    port: req.port,
    count: req.count,
    'timeout-ms': req.timeoutMs ?? CLIENT_DEFAULTS.timeoutMs,
    'deadline-ms': req.deadlineMs ?? CLIENT_DEFAULTS.deadlineMs,
    'interval-ms': req.intervalMs,
    upload: req.upload,
    download: req.download,
    'source-port': req.sourcePort,
    'request-bytes': req.requestBytes,
    'answer-bytes': req.answerBytes,
  });
}

/** The report a one-shot client printed last; it names the client when there is none. */
export function clientReport(proc: LineProcess): ClientReport {
  const last = proc.stdoutLines[proc.stdoutLines.length - 1];
  if (last === undefined) throw new Error(`${proc.label}: no report\n--- log tail ---\n${proc.logTail()}`);
  return JSON.parse(last) as ClientReport;
}

export async function runClient(place: Place, req: ClientRequest): Promise<ClientReport> {
  const bound = (req.deadlineMs ?? CLIENT_DEFAULTS.deadlineMs) + (req.timeoutMs ?? CLIENT_DEFAULTS.timeoutMs) + STARTUP_MARGIN_MS;
  return clientReport(await runInPlace(place, requestArgv(req), bound));
}

/** A one-shot client left running (e.g. paced by intervalMs); SIGTERM ends it early, still reporting (clientReport). */
export function startClient(place: Place, req: ClientRequest): LineProcess {
  return spawnInPlace(place, requestArgv(req));
}

/** A running `hold` client; its events arrive while the test changes the world around it. */
export class HoldClient {
  private readonly parsed: HoldEvent[] = [];

  constructor(
    readonly process: LineProcess,
    private readonly durationMs: number,
  ) {}

  events(): HoldEvent[] {
    for (const line of this.process.stdoutLines.slice(this.parsed.length)) this.parsed.push(JSON.parse(line) as HoldEvent);
    return this.parsed;
  }

  probes(): Extract<HoldEvent, { type: 'probe' }>[] {
    return this.events().filter((e): e is Extract<HoldEvent, { type: 'probe' }> => e.type === 'probe');
  }

  /** The first event passing test, e.g. (e) => e.type === 'probe' && e.seq >= 9. */
  waitForEvent(what: string, test: (e: HoldEvent) => boolean, timeoutMs: number): Promise<HoldEvent> {
    return this.process.waitUntil(what, () => this.events().find(test), timeoutMs);
  }

  /** All events, once the client has run its whole duration. */
  async finished(): Promise<HoldEvent[]> {
    await this.process.waitForExit(this.durationMs + STARTUP_MARGIN_MS);
    return this.events();
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}

export function startHold(place: Place, req: HoldRequest): HoldClient {
  const argv = clientArgv('hold', {
    proto: req.proto,
    addr: req.addr,
    port: req.port,
    'duration-ms': req.durationMs,
    'interval-ms': req.intervalMs,
    'timeout-ms': req.timeoutMs,
    flows: req.flows,
    'source-port': req.sourcePort,
    'request-bytes': req.requestBytes,
    'answer-bytes': req.answerBytes,
  });
  return new HoldClient(spawnInPlace(place, argv), req.durationMs);
}
