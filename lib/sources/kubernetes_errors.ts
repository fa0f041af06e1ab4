// What went wrong talking to the API server, in a few words for the log,
// and whether it means the server cannot be reached at all (as opposed to
// refusing a request), which the agent reports once per outage.
import { STATUS_CODES } from 'http';
import { isJsonObject } from './field_reader';

/** Socket-level failures: the server is down, or the network to it is. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

interface ErrorLike {
  message?: string;
  /** errno name (net, tls). */
  code?: string;
  /** HTTP status of a refused request. */
  statusCode?: number;
  body?: unknown;
}

/** The API server refused a request, or ended a watch with an ERROR event;
 *  body is its Status object (or the response's text). */
export class ApiStatusError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: unknown,
  ) {
    super(STATUS_CODES[statusCode] ?? `HTTP ${statusCode}`);
  }
}

/** 410 Gone: the resource version asked for is older than what the API
 *  server keeps (a watch's start, a list's continue token). */
export function isGone(err: unknown): boolean {
  return (err as ErrorLike | undefined)?.statusCode === 410;
}

export function isUnreachable(err: unknown): boolean {
  const e = err as ErrorLike | undefined;
  return typeof e?.code === 'string' && UNREACHABLE.has(e.code);
}

function statusMessage(body: unknown): string | undefined {
  return isJsonObject(body) && typeof body.message === 'string' ? body.message : undefined;
}

export function describeError(err: unknown): string {
  const e = (err ?? {}) as ErrorLike;
  if (e.statusCode !== undefined) {
    const detail = statusMessage(e.body) ?? e.message;
    return `HTTP ${e.statusCode}${detail ? `: ${detail}` : ''}`;
  }
  return (e.message ?? String(err)).trim();
}
