// What went wrong talking to the API server, in a few words for the log,
// and whether it means the server cannot be reached at all (as opposed to
// refusing a request), which the agent reports once per outage.
import { isJsonObject } from './field_reader';

/** Socket-level failures: the server is down, or the network to it is. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);

interface ErrorLike {
  message?: string;
  /** errno name (node-fetch, net) or HTTP status (client-node's ApiException). */
  code?: string | number;
  /** HTTP status of a refused watch. */
  statusCode?: number;
  body?: unknown;
}

export function isUnreachable(err: unknown): boolean {
  const e = err as ErrorLike | undefined;
  return typeof e?.code === 'string' && UNREACHABLE.has(e.code);
}

function statusMessage(body: unknown): string | undefined {
  const status = typeof body === 'string' ? safeJson(body) : body;
  return isJsonObject(status) && typeof status.message === 'string' ? status.message : undefined;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function describeError(err: unknown): string {
  const e = (err ?? {}) as ErrorLike;
  const status = typeof e.code === 'number' ? e.code : e.statusCode;
  if (status !== undefined) {
    const detail = statusMessage(e.body) ?? (typeof e.code === 'number' ? undefined : e.message);
    return `HTTP ${status}${detail ? `: ${detail}` : ''}`;
  }
  const message = e.message ?? String(err);
  // node-fetch says "request to <url> failed, reason: <why>": the URL is
  // long and the same every time.
  const reason = /reason: (.*)$/s.exec(message);
  return (reason ? reason[1] : message).trim();
}
