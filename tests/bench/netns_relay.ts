// A TCP relay into a network namespace: the API server listens on the host's
// 127.0.0.1, which a process in another namespace cannot reach. The host side
// serves a unix socket and connects each of its connections to the target;
// netns_relay_listen.js, run in the namespace, listens on 127.0.0.1:<port>
// there and connects each connection to that unix socket.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { LineProcess } from '../helpers/line_process';

const LISTEN_TIMEOUT_MS = 10_000;

export interface NetnsRelay {
  /** The port on the namespace's 127.0.0.1. */
  port: number;
  stop(): Promise<void>;
}

export async function startNetnsRelay(netns: string, target: { host: string; port: number }, socketPath: string, port: number): Promise<NetnsRelay> {
  fs.rmSync(socketPath, { force: true });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => (client.destroy(), upstream.destroy()));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve());
  });
  const listener = new LineProcess(`relay in ${netns}`, 'nsenter', [`--net=/run/netns/${netns}`, process.execPath, path.join(__dirname, 'netns_relay_listen.js'), String(port), socketPath]);
  const stop = async () => {
    await listener.stop();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(socketPath, { force: true });
  };
  try {
    await listener.waitForLine('"listening"', (l) => l === 'listening', LISTEN_TIMEOUT_MS);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, stop };
}
