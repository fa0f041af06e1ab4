// What tests/helpers/client.ts prints: one JSON line per run for the one-shot
// modes, one JSON line per event for `hold`.

export const CLIENT_DEFAULTS = {
  /** Per exchange (connect + answer). */
  timeoutMs: 2000,
  /** Whole one-shot run; probes not started by then are left out. */
  deadlineMs: 60_000,
  /** hold: time between probe starts. */
  intervalMs: 100,
};

export type OneShotMode = 'tcp' | 'udp' | 'udp-connected' | 'udp-new-socket' | 'udp-connected-new-socket' | 'http' | 'transfer';

export interface ProbeResult {
  /** Name of the backend that answered. */
  backend?: string;
  /** errno code (ECONNREFUSED, EPERM, ...), ETIMEDOUT for our own timeouts,
   *  EOF when the peer closed before answering, or "HTTP <status>". */
  error?: string;
  ms: number;
  /** tcp: the client's address as the backend saw it (source IP preservation). */
  seenAs?: string;
  /** tcp: which of the backend's addresses the connection reached, as the backend reports it. */
  servedBy?: string;
  /** tcp: when connect() was called (ms since the epoch), to compare with when a change was programmed. */
  at?: number;
  /** tcp: the connected socket's peer, as getpeername() reports it to the app. */
  peerAddr?: string;
  peerPort?: number;
  /** udp, udp-connected, udp-new-socket, udp-connected-new-socket: the reply's source address, as recvmsg() reports it to the app. */
  fromAddr?: string;
  fromPort?: number;
  /** udp modes with --request-bytes: the bytes of the request the backend received, as it reports them. */
  backendReceived?: number;
  /** udp modes with --request-bytes: the bytes of the answer. */
  answerBytes?: number;
}

export interface ClientReport {
  mode: OneShotMode;
  addr: string;
  port: number;
  count: number;
  /** udp-connected: the socket's peer after connect(), from getpeername(). */
  peerAddr?: string;
  peerPort?: number;
  /** One per probe, in order; fewer than count only when deadlineHit, or when
   *  udp-connected's connect() failed (a single result carries that error). */
  results: ProbeResult[];
  /** Answers per backend name. */
  backends: Record<string, number>;
  /** Failures per error code. */
  errors: Record<string, number>;
  deadlineHit: boolean;
  ms: number;
}

/** flow: which of a hold's flows (client.ts hold --flows), when it holds more than one. */
export type HoldEvent =
  /** The socket is connected; peer as getpeername() reports it. */
  | { type: 'connected'; t: number; peerAddr?: string; peerPort?: number; flow?: number }
  | { type: 'probe'; t: number; seq: number; ok: boolean; backend?: string; error?: string; ms: number; flow?: number }
  /** An error reported by the socket itself, between or during probes. */
  | { type: 'error'; t: number; error: string; flow?: number }
  | { type: 'done'; t: number; probes: number; ok: number };
