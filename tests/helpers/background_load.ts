// A bounded background load for fault tests (issue 7): per target, a paced
// stream of new TCP connections (client.ts tcp --interval-ms, each: connect,
// request, reply, close) and a few long-lived connections probed all along
// (client.ts hold). A fault is injected while it runs; stop() says what the
// clients saw, and reportFigures() keeps it for the README's reliability table.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ClientReport, HoldEvent } from './client_report';
import { HoldClient, Place, spawnInPlace, startHold } from './client_runner';
import { LineProcess } from './line_process';

export interface LoadTarget {
  name: string;
  addr: string;
  port: number;
  place: Place;
}

export interface LoadFigures {
  target: string;
  /** New TCP connections attempted (each: connect, request, reply, close). */
  attempted: number;
  /** Of which failed (refused, reset, timeout, wrong answer). */
  failed: number;
  /** By error code. */
  errors: Record<string, number>;
  /** Long-lived flows opened at start (established: answered a probe), probed all along. */
  holdsOpened: number;
  /** Of which saw any failed probe. */
  holdsBroken: number;
}

export interface BackgroundLoad {
  stop(): Promise<LoadFigures[]>;
}

type LoadOptions = { connectionsPerSecond: number; holds: number; maxMs: number };

/** Per exchange: a connection slower than this counts as failed. */
const TIMEOUT_MS = 2000;
/** Also each probe's timeout (client.ts hold): long enough that a busy
 *  2-CPU machine starting an agent does not pass for a broken flow. */
const HOLD_INTERVAL_MS = 300;
const HOLD_CONNECT_TIMEOUT_MS = 10_000;
/** stop(): the connection under way may take its whole timeout, node a moment to exit. */
const STOP_GRACE_MS = TIMEOUT_MS + 3000;

/** One target's clients. */
class TargetLoad {
  private constructor(
    private readonly target: LoadTarget,
    private readonly connections: LineProcess,
    private readonly holds: HoldClient[],
    /** Per hold: how many of its events came before it was established. */
    private readonly established: number[],
  ) {}

  /** Opens the holds first (they must be established before any fault), then starts the paced connections. */
  static async start(t: LoadTarget, o: LoadOptions): Promise<TargetLoad> {
    const holds = Array.from({ length: o.holds }, () =>
      startHold(t.place, { proto: 'tcp', addr: t.addr, port: t.port, durationMs: o.maxMs, intervalMs: HOLD_INTERVAL_MS, timeoutMs: TIMEOUT_MS }),
    );
    try {
      await Promise.all(holds.map((h) => h.waitForEvent(`a flow to ${t.name} answering`, (e) => e.type === 'probe' && e.ok, HOLD_CONNECT_TIMEOUT_MS)));
    } catch (e) {
      await Promise.all(holds.map((h) => h.stop()));
      throw e;
    }
    // A flow is established once it has answered: a slow first answer, while
    // the clients start on a busy machine, is not a flow broken by a fault.
    const established = holds.map((h) => h.events().length);
    const count = Math.max(1, Math.floor((o.connectionsPerSecond * o.maxMs) / 1000));
    const connections = spawnInPlace(t.place, [
      process.execPath,
      path.join(__dirname, 'client.js'),
      'tcp',
      ...['--addr', t.addr, '--port', String(t.port), '--count', String(count)],
      ...['--interval-ms', String(Math.max(1, Math.round(1000 / o.connectionsPerSecond)))],
      ...['--timeout-ms', String(TIMEOUT_MS), '--deadline-ms', String(o.maxMs)],
    ]);
    return new TargetLoad(t, connections, holds, established);
  }

  async stop(): Promise<LoadFigures> {
    await this.connections.stop('SIGTERM', STOP_GRACE_MS);
    const holdEvents = this.holds.map((h, i) => h.events().slice(this.established[i]));
    await Promise.all(this.holds.map((h) => h.stop()));
    const last = this.connections.stdoutLines[this.connections.stdoutLines.length - 1];
    if (!last) throw new Error(`load on ${this.target.name}: the client gave no report\n${this.connections.logTail()}`);
    const report = JSON.parse(last) as ClientReport;
    const failed = report.results.filter((r) => r.backend === undefined).length;
    return {
      target: this.target.name,
      attempted: report.results.length,
      failed,
      errors: report.errors,
      holdsOpened: this.holds.length,
      holdsBroken: holdEvents.filter(broken).length,
    };
  }
}

/** A flow is broken by any error or unanswered probe. */
function broken(events: HoldEvent[]): boolean {
  return events.some((e) => e.type === 'error' || (e.type === 'probe' && !e.ok));
}

/** Bounded: at most connectionsPerSecond * maxMs/1000 connections per target, and stops by maxMs. */
export async function startBackgroundLoad(targets: LoadTarget[], o: LoadOptions): Promise<BackgroundLoad> {
  const started = await Promise.allSettled(targets.map((t) => TargetLoad.start(t, o)));
  const loads = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) {
    await Promise.allSettled(loads.map((l) => l.stop()));
    throw failure.reason;
  }
  return { stop: () => Promise.all(loads.map((l) => l.stop())) };
}

function reliabilityOut(): string {
  return process.env.KPR_RELIABILITY_OUT ?? path.join(os.tmpdir(), 'kpr-reliability.jsonl');
}

/** Prints and appends one JSON line {fault, load, attempted, failed, holdsBroken, convergeMs}
 *  to $KPR_RELIABILITY_OUT (default: <os.tmpdir()>/kpr-reliability.jsonl), for the README table. */
export function reportFigures(fault: string, load: string, figures: LoadFigures[], convergeMs?: number): void {
  const sum = (k: 'attempted' | 'failed' | 'holdsBroken') => figures.reduce((s, f) => s + f[k], 0);
  const line = JSON.stringify({ fault, load, attempted: sum('attempted'), failed: sum('failed'), holdsBroken: sum('holdsBroken'), convergeMs });
  process.stdout.write(`${line}\n`);
  fs.appendFileSync(reliabilityOut(), `${line}\n`);
}
