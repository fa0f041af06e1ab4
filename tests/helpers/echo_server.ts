// Backend for datapath tests and the demo, run inside a backend namespace:
//   node echo_server.js --name b1 [--tcp PORT]... [--udp PORT]... [--http PORT]...
// TCP: every line received is answered with "<name>\n", so one long-lived
// connection can be probed repeatedly; the line "peer" is answered with
// "<name> <client address as the backend sees it> <address it was reached at>". UDP: every datagram is answered with
// "<name>\n<the datagram>", letting clients match replies to requests, but a sized request
// (sized_udp.ts) is answered at the size it asks for, with the bytes it had. HTTP:
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

function listenTcp(name: string, p: number): Promise<void> {
  const server = net.createServer((sock) => {
    let partial = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() as string;
      // "peer" asks who is calling: the address the backend sees (source IP
      // preservation), and which of the backend's addresses the LB chose;
      // anything else is a plain probe.
      for (const line of lines) sock.write(line === 'peer' ? `${name} ${sock.remoteAddress} ${unmapped(sock.localAddress)}\n` : `${name}\n`);
    });
    sock.on('error', () => sock.destroy()); // clients may reset; nothing to report
  });
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
