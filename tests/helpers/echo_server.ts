// Backend for datapath tests and the demo, run inside a backend namespace:
//   node echo_server.js --name b1 [--tcp PORT]... [--udp PORT]... [--http PORT]...
// TCP: every line received is answered with "<name>\n", so one long-lived
// connection can be probed repeatedly; the line "peer" is answered with
// "<name> <client address as the backend sees it> <address it was reached at>";
// "send N" with "<name>\n" and N bytes; "recv N" takes the N bytes that
// follow it and answers "<name> N" (transfers big enough to need the path's
// MTU, N up to 64 MiB). UDP: every datagram is answered with
// "<name>\n<the datagram>", letting clients match replies to requests, but a
// sized request (sized_udp.ts) is answered at the size it asks for, with the
// bytes it had. HTTP:
// every request is answered with "<name>\n". All bind :: dual-stack.
// Prints "listening" once every socket is bound.
import * as dgram from 'dgram';
import * as http from 'http';
import * as net from 'net';
import { parseArgs } from 'util';
import { parseSizedRequest, sizedAnswer } from './sized_udp';

// A server leaked by a crashed test still goes away by itself.
const DEFAULT_MAX_SECONDS = 1800;

const { values } = parseArgs({
  options: {
    name: { type: 'string' },
    tcp: { type: 'string', multiple: true, default: [] },
    udp: { type: 'string', multiple: true, default: [] },
    http: { type: 'string', multiple: true, default: [] },
    'max-seconds': { type: 'string', default: String(DEFAULT_MAX_SECONDS) },
  },
});

function port(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`bad port ${text}`);
  return n;
}

/** An IPv4 client of a dual-stack socket shows as ::ffff:a.b.c.d. */
function unmapped(addr: string | undefined): string {
  return (addr ?? '').replace(/^::ffff:/, '');
}

const MAX_TRANSFER = 64 * 1024 * 1024;

function transferSize(text: string): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 && n <= MAX_TRANSFER ? n : undefined;
}

/** One connection's lines, and the bytes of a "recv N" between them. */
function serveConnection(name: string, sock: net.Socket): void {
  let partial = '';
  let receiving = 0;
  let received = 0;
  const answer = (line: string) => {
    const [command, arg] = line.split(' ');
    const size = transferSize(arg);
    // "peer" asks who is calling: the address the backend sees (source IP
    // preservation), and which of the backend's addresses the LB chose.
    if (line === 'peer') sock.write(`${name} ${sock.remoteAddress} ${unmapped(sock.localAddress)}\n`);
    else if (command === 'send' && size !== undefined) sock.write(Buffer.concat([Buffer.from(`${name}\n`), Buffer.alloc(size, 'x')]));
    else if (command === 'recv' && size !== undefined) {
      receiving = received = size;
      if (size === 0) sock.write(`${name} 0\n`);
    } else sock.write(`${name}\n`); // a plain probe
  };
  sock.on('data', (chunk: Buffer) => {
    for (let at = 0; at < chunk.length; ) {
      if (receiving > 0) {
        const n = Math.min(receiving, chunk.length - at);
        receiving -= n;
        at += n;
        if (receiving === 0) sock.write(`${name} ${received}\n`);
        continue;
      }
      const nl = chunk.indexOf(10, at);
      if (nl < 0) {
        partial += chunk.toString('utf8', at);
        return;
      }
      const line = partial + chunk.toString('utf8', at, nl);
      partial = '';
      at = nl + 1;
      answer(line);
    }
  });
  sock.on('error', () => sock.destroy()); // clients may reset; nothing to report
}

function listenTcp(name: string, p: number): Promise<void> {
  const server = net.createServer((sock) => serveConnection(name, sock));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: p, host: '::', ipv6Only: false }, resolve);
  });
}

function listenUdp(name: string, p: number): Promise<void> {
  const sock = dgram.createSocket({ type: 'udp6', ipv6Only: false });
  sock.on('message', (msg, rinfo) => {
    const sized = parseSizedRequest(msg);
    const answer = sized ? sizedAnswer(name, msg.length, sized.tag, sized.answerBytes) : `${name}\n${msg.toString()}`;
    sock.send(answer, rinfo.port, rinfo.address);
  });
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ port: p, address: '::' }, () => {
      sock.off('error', reject);
      sock.on('error', (err) => process.stderr.write(`udp ${p}: ${err.message}\n`));
      resolve();
    });
  });
}

function listenHttp(name: string, p: number): Promise<void> {
  const server = http.createServer((_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${name}\n`);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: p, host: '::', ipv6Only: false }, resolve);
  });
}

async function main(): Promise<void> {
  const name = values.name;
  if (!name) throw new Error('--name is required');
  const maxSeconds = Number(values['max-seconds']);
  setTimeout(() => process.exit(0), maxSeconds * 1000).unref();
  await Promise.all([
    ...values.tcp.map((p) => listenTcp(name, port(p))),
    ...values.udp.map((p) => listenUdp(name, port(p))),
    ...values.http.map((p) => listenHttp(name, port(p))),
  ]);
  process.stdout.write('listening\n');
}

main().catch((err: Error) => {
  process.stderr.write(`echo_server: ${err.message}\n`);
  process.exit(1);
});
