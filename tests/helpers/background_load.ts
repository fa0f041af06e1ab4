// A bounded background load for the fault tests (issue 7): per target, new
// flows at a steady rate (TCP: connect, request, answer, close; UDP: a
// connected socket of its own, one exchange) and a few long-lived flows
// (a TCP connection, a connected UDP socket) probed all along, while a test
// breaks something. Each
// test reports what the load saw with reportFigures(), one JSON line per
// fault, for the README's reliability table.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ClientReport } from './client_report';
import { clientReport, HoldClient, Place, startClient, startHold } from './client_runner';
import { LineProcess } from './line_process';

export interface LoadTarget {
  name: string;
  addr: string;
  port: number;
  place: Place;
  /** Default tcp. */
  proto?: 'tcp' | 'udp';
}

export interface LoadFigures {
  target: string;
  /** New flows attempted (TCP: connect, request, reply, close; UDP: one exchange on a socket of its own). */
  attempted: number;
  /** Of which failed (refused, reset, timeout, wrong answer). */
  failed: number;
  /** By error code. */
  errors: Record<string, number>;
  /** Long-lived flows opened at start, probed all along. */
  holdsOpened: number;
  /** Of which saw any failed probe. */
  holdsBroken: number;
  /** Per broken flow, the backend that last answered it (a test can tell a
   *  flow its own backend's end closed from one a fault broke). */
  brokenHoldBackends: (string | undefined)[];
}

export interface BackgroundLoad {
  stop(): Promise<LoadFigures[]>;
}

/** Per connection, and per probe of a long-lived flow. */
const EXCHANGE_TIMEOUT_MS = 2000;
/** Also each probe's timeout (client.ts hold): long enough that a loaded
 *  2-CPU machine starting an agent does not pass for a broken flow. */
const HOLD_INTERVAL_MS = 500;
/** A flow's first answer, while the clients start on a busy machine. */
const HOLD_CONNECT_TIMEOUT_MS = 10_000;
/** Node's start inside the namespace, and the exchange in flight at a stop. */
const STOP_GRACE_MS = EXCHANGE_TIMEOUT_MS + 5000;

/** New flows to one target, one every 1000/connectionsPerSecond ms,
 *  until stopped or maxMs; the report holds each connection's result. */
export class PacedConnections {
  private readonly process: LineProcess;

  constructor(target: LoadTarget, connectionsPerSecond: number, maxMs: number) {
    if (!(connectionsPerSecond > 0) || !(maxMs > 0)) throw new Error(`load on ${target.name}: connectionsPerSecond and maxMs must be positive`);
    this.process = startClient(target.place, {
      mode: target.proto === 'udp' ? 'udp-connected-new-socket' : 'tcp',
      addr: target.addr,
      port: target.port,
      count: Math.max(1, Math.floor((connectionsPerSecond * maxMs) / 1000)),
      intervalMs: Math.round(1000 / connectionsPerSecond),
      timeoutMs: EXCHANGE_TIMEOUT_MS,
      deadlineMs: maxMs,
    });
  }

  /** Ends the load (after the connection in flight) and returns its report. */
  async stop(): Promise<ClientReport> {
    const status = await this.process.stop('SIGTERM', STOP_GRACE_MS);
    if (status.code !== 0) throw new Error(`${this.process.label}: exit ${status.code ?? status.signal}\n--- log tail ---\n${this.process.logTail()}`);
    return clientReport(this.process);
  }
}

function lastBackend(hold: HoldClient): string | undefined {
  return hold
    .events()
    .flatMap((e) => (e.type === 'probe' && e.ok && e.backend ? [e.backend] : []))
    .pop();
}

/** What went wrong with a long-lived flow once established (it had answered
 *  a probe: a slow first answer is not a flow broken by a fault): its failed
 *  probes' and socket errors' codes, "moved" for each answer from another
 *  backend than its first (a UDP flow re-balanced mid-flow loses whatever
 *  state its backend kept), or that it never answered. */
function flowFailures(hold: HoldClient): string[] {
  const events = hold.events();
  const established = events.findIndex((e) => e.type === 'probe' && e.ok);
  if (established < 0) return ['never answered'];
  const first = events[established].type === 'probe' ? events[established].backend : undefined;
  return events.slice(established).flatMap((e) => {
    if (e.type === 'error' || (e.type === 'probe' && !e.ok)) return [e.error ?? 'failed'];
    return e.type === 'probe' && e.backend !== first ? ['moved'] : [];
  });
}

/** The figures of one target from its connections' report and its flows. */
export function loadFigures(target: string, report: ClientReport, holds: HoldClient[]): LoadFigures {
  const errors: Record<string, number> = { ...report.errors };
  // An answer without a backend name is a wrong answer.
  const unnamed = report.results.filter((r) => r.error === undefined && !r.backend).length;
  if (unnamed > 0) errors['wrong answer'] = unnamed;
  const failed = Object.values(errors).reduce((n, c) => n + c, 0);
  const flows = holds.map(flowFailures);
  // Counted apart from the connections' (under "flow <code>"), to say what broke a flow.
  for (const code of flows.flat()) errors[`flow ${code}`] = (errors[`flow ${code}`] ?? 0) + 1;
  return {
    target,
    attempted: report.results.length,
    failed,
    errors,
    holdsOpened: holds.length,
    holdsBroken: flows.filter((f) => f.length > 0).length,
    brokenHoldBackends: holds.filter((_, i) => flows[i].length > 0).map(lastBackend),
  };
}

/** Bounded: at most connectionsPerSecond * maxMs/1000 connections per target, and stops by maxMs. */
export async function startBackgroundLoad(targets: LoadTarget[], o: { connectionsPerSecond: number; holds: number; maxMs: number }): Promise<BackgroundLoad> {
  const runs = targets.map((t) => ({
    target: t,
    holds: Array.from({ length: o.holds }, () =>
      startHold(t.place, { proto: t.proto ?? 'tcp', addr: t.addr, port: t.port, durationMs: o.maxMs, intervalMs: HOLD_INTERVAL_MS, timeoutMs: EXCHANGE_TIMEOUT_MS }),
    ),
    connections: new PacedConnections(t, o.connectionsPerSecond, o.maxMs),
  }));
  const stop = () =>
    Promise.all(
      runs.map(async (r) => {
        const report = await r.connections.stop();
        await Promise.all(r.holds.map((h) => h.stop()));
        return loadFigures(r.target.name, report, r.holds);
      }),
    );
  try {
    // The flows are established before the test breaks anything.
    await Promise.all(runs.flatMap((r) => r.holds.map((h) => h.waitForEvent(`a flow to ${r.target.name} answering`, (e) => e.type === 'probe' && e.ok, HOLD_CONNECT_TIMEOUT_MS))));
  } catch (e) {
    await stop().catch(() => undefined);
    throw e;
  }
  return { stop };
}

/** Prints and appends one JSON line {fault, load, attempted, failed, holdsBroken, convergeMs}
 *  to $KPR_RELIABILITY_OUT (default: <os.tmpdir()>/kpr-reliability.jsonl), for the README table. */
export function reportFigures(fault: string, load: string, figures: LoadFigures[], convergeMs?: number): void {
  const sum = (k: 'attempted' | 'failed' | 'holdsBroken') => figures.reduce((n, f) => n + f[k], 0);
  const line = JSON.stringify({ fault, load, attempted: sum('attempted'), failed: sum('failed'), holdsBroken: sum('holdsBroken'), convergeMs });
  const file = process.env.KPR_RELIABILITY_OUT || path.join(os.tmpdir(), 'kpr-reliability.jsonl');
  fs.appendFileSync(file, `${line}\n`);
  process.stdout.write(`reliability: ${line} (${figures.map((f) => `${f.target}: ${f.attempted} attempted, ${f.failed} failed ${JSON.stringify(f.errors)}, holds ${f.holdsBroken}/${f.holdsOpened} broken`).join('; ')})\n`);
}
