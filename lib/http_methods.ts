// kpr's HTTP servers (metrics, health, healthCheckNodePorts) only report:
// nothing sent to them changes anything. Any method but GET and HEAD is
// refused, so that no client can take an answer to a POST for an effect.
import * as http from 'http';

const READ_METHODS = new Set(['GET', 'HEAD']);

/** Answers 405 and returns true when req is not a read. */
export function refusedWrite(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  if (READ_METHODS.has(req.method ?? '')) return false;
  res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain', 'X-Content-Type-Options': 'nosniff' }).end('method not allowed\n');
  return true;
}
