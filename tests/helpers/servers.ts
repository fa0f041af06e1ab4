// Starts echo servers (echo_server.ts) inside backend namespaces.
import * as path from 'path';
import { LineProcess } from './line_process';
import { Topology } from './topology';

export interface ServerPorts {
  tcp?: number[];
  udp?: number[];
  http?: number[];
}

export interface EchoServer {
  name: string;
  ns: string;
  process: LineProcess;
  stop(): Promise<void>;
}

const ECHO_SERVER = path.join(__dirname, 'echo_server.js');
const START_TIMEOUT_MS = 10_000;

export async function startEchoServer(ns: string, name: string, ports: ServerPorts): Promise<EchoServer> {
  const portArgs = (['tcp', 'udp', 'http'] as const).flatMap((kind) =>
    (ports[kind] ?? []).flatMap((p) => [`--${kind}`, String(p)]),
  );
  const proc = new LineProcess(`echo server ${name} in ${ns}`, 'ip', [
    'netns', 'exec', ns, process.execPath, ECHO_SERVER, '--name', name, ...portArgs,
  ]);
  try {
    await proc.waitForLine('listening', (line) => line === 'listening', START_TIMEOUT_MS);
  } catch (e) {
    await proc.stop('SIGKILL');
    throw e;
  }
  return {
    name,
    ns,
    process: proc,
    async stop() {
      await proc.stop();
    },
  };
}

/** One server per backend of topo, each answering with the backend's name (b1, b2, ...). */
export async function startEchoServers(topo: Topology, ports: ServerPorts): Promise<EchoServer[]> {
  const started = await Promise.allSettled(topo.backends.map((b) => startEchoServer(b.ns, b.name, ports)));
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) {
    await Promise.all(servers.map((s) => s.stop()));
    throw failure.reason;
  }
  return servers;
}
