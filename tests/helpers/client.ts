// Test client, run inside a client namespace and test cgroup (client_runner.ts):
//   node client.js tcp|udp|udp-connected|udp-new-socket|udp-connected-new-socket|http|transfer --addr A --port P --count N
//        [--timeout-ms T] [--deadline-ms D] [--interval-ms I]
//        [--upload BYTES] [--download BYTES] [--source-port S]
//        [--request-bytes R --answer-bytes A]              -> one JSON line (ClientReport)
//   node client.js hold --proto tcp|udp --addr A --port P --interval-ms I
//        --duration-ms D [--timeout-ms T] [--flows N]
//        [--request-bytes R (udp)] [--answer-bytes A]   -> one JSON line per HoldEvent
// tcp: N sequential connections, each asks the backend its name and how it sees the client.
// udp: one unconnected socket, N sendto()/recvmsg() exchanges.
// udp-connected: one connected socket, N send()/recv() exchanges.
// udp-new-socket: N exchanges, each on a socket of its own (a new source port each time).
// udp-connected-new-socket: N exchanges, each on a connected socket of its own (N flows).
// With --request-bytes and --answer-bytes (udp, udp-connected, udp-new-socket), every request
// is R bytes and asks the echo server for an answer of A bytes (sized_udp.ts): datagrams in fragments.
// http: N sequential GET / requests, each on a new connection.
// transfer: N sequential connections, each sends --upload bytes and receives
// --download bytes (echo server's "recv N" and "send N"): packets of the
// path's MTU, whatever it is.
// --source-port S (udp-connected-new-socket, transfer): probe i leaves from port S + i
// instead of one the kernel picks, so that runs never share a flow.
// With --interval-ms the one-shot modes start a probe every I ms at most (a
// paced load), and SIGTERM ends them early: the probe under way finishes and
// the report covers what was done.
// hold: one TCP connection or connected UDP socket (--flows N: N of them, each
// event naming its flow), probed every I ms for D ms, so a test can watch
// established flows across agent restarts, socket destruction or a migration.
// Its UDP probes may be sized as above; its TCP ones, with --answer-bytes A,
// ask "send A" and count once the A bytes are in (segments of the path's MTU).
// Every loop is bounded by a count and a deadline.
import * as dgram from 'dgram';
import * as http from 'http';
import * as net from 'net';
import { parseArgs } from 'util';
import { CLIENT_DEFAULTS, ClientReport, HoldEvent, OneShotMode, ProbeResult } from './client_report';
import { MAX_SIZED_BYTES, MIN_SIZED_BYTES, parseSizedAnswer, sizedRequest } from './sized_udp';
import { sleep } from './sleep';

const REQUEST = 'ping\n';
/** Asks the echo server who is calling: it answers "<name> <client address as it sees it>". */
const PEER_REQUEST = 'peer\n';
const MAX_COUNT = 100_000;
const MAX_DURATION_MS = 600_000;
const MIN_INTERVAL_MS = 10;
/** hold --flows: sockets one process keeps open, within a 1024-descriptor limit: several processes hold more. */
const MAX_HOLD_FLOWS = 1000;
/** transfer: bytes each way per connection (the echo server's limit). */
const MAX_TRANSFER = 64 * 1024 * 1024;

type Outcome = Omit<ProbeResult, 'ms'>;

interface Channel {
  probe(timeoutMs: number): Promise<ProbeResult>;
  close(): void;
}

function errorCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

function msSince(start: number): number {
  return Math.round((performance.now() - start) * 1000) / 1000;
}

/** Runs one request/answer exchange; an exchange that never settles becomes
 *  ETIMEDOUT, with what was known of it at the start (known). */
function exchange(timeoutMs: number, body: (settle: (o: Outcome) => void) => () => void, known: Outcome = {}): Promise<ProbeResult> {
  const start = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let cleanup: () => void = () => undefined;
    const settle = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      cleanup();
      resolve({ ...o, ms: msSince(start) });
    };
    const timer = setTimeout(() => settle({ ...known, error: 'ETIMEDOUT' }), timeoutMs);
    cleanup = body(settle);
    if (settled) cleanup();
  });
}

/** A connection's answers, each a line followed by `extra` bytes (the echo
 *  server's answer to "send N"): cb gets the line once the bytes are in. */
function onAnswers(sock: net.Socket, extra: number, cb: (line: string) => void): void {
  let partial = '';
  let line = '';
  let due = 0;
  sock.on('data', (chunk: Buffer) => {
    for (let at = 0; at < chunk.length; ) {
      if (due > 0) {
        const n = Math.min(due, chunk.length - at);
        due -= n;
        at += n;
        if (due === 0) cb(line);
        continue;
      }
      const nl = chunk.indexOf(10, at);
      if (nl < 0) {
        partial += chunk.toString('utf8', at);
        return;
      }
      line = partial + chunk.toString('utf8', at, nl);
      partial = '';
      at = nl + 1;
      if (extra === 0) cb(line);
      else due = extra;
    }
  });
}

function tcpOnce(addr: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  // Taken before connect(), which Node calls on the next tick: never later than the translation.
  const at = Date.now();
  return exchange(timeoutMs, (settle) => {
    const sock = net.connect({ host: addr, port });
    let peer: Outcome = { at };
    sock.on('connect', () => {
      peer = { at, peerAddr: sock.remoteAddress, peerPort: sock.remotePort };
      sock.write(PEER_REQUEST);
    });
    onAnswers(sock, 0, (line) => {
      const [backend, seenAs, servedBy] = line.split(' ');
      settle({ backend, seenAs: seenAs?.replace(/^::ffff:/, ''), servedBy, ...peer });
    });
    sock.on('error', (err) => settle({ error: errorCode(err), ...peer }));
    sock.on('end', () => settle({ error: 'EOF', ...peer }));
    return () => sock.destroy();
  }, { at });
}

/** One connection: --upload bytes up ("recv N", answered "<name> N"), then
 *  --download bytes down ("send N", answered "<name>" and N bytes). An error
 *  SHORT when a byte count disagrees, EOF when the backend closes first. */
function transferOnce(addr: string, port: number, localPort: number | undefined, upload: number, download: number, timeoutMs: number): Promise<ProbeResult> {
  return exchange(timeoutMs, (settle) => {
    const sock = net.connect({ host: addr, port, localPort });
    let stage: 'uploaded' | 'name' | 'bytes' = 'uploaded';
    let line = '';
    let due = download;
    let backend: string | undefined;
    const requestDownload = () => {
      if (download === 0) return settle({ backend });
      stage = 'name';
      sock.write(`send ${download}\n`);
    };
    sock.on('connect', () => {
      if (upload > 0) sock.write(Buffer.concat([Buffer.from(`recv ${upload}\n`), Buffer.alloc(upload, 'u')]));
      else requestDownload();
    });
    sock.on('data', (chunk: Buffer) => {
      let at = 0;
      while (stage !== 'bytes' && at < chunk.length) {
        const nl = chunk.indexOf(10, at);
        if (nl < 0) {
          line += chunk.toString('utf8', at);
          return;
        }
        const [name, count] = (line + chunk.toString('utf8', at, nl)).split(' ');
        line = '';
        at = nl + 1;
        backend = name;
        if (stage === 'name') stage = 'bytes';
        else if (Number(count) === upload) requestDownload();
        else return settle({ error: 'SHORT' });
      }
      due -= chunk.length - at;
      if (due < 0) settle({ error: 'SHORT' });
      else if (stage === 'bytes' && due === 0) settle({ backend });
    });
    sock.on('error', (err) => settle({ error: errorCode(err) }));
    sock.on('end', () => settle({ error: 'EOF' }));
    return () => sock.destroy();
  });
}

function httpOnce(addr: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return exchange(timeoutMs, (settle) => {
    const req = http.get({ host: addr, port, path: '/', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => settle(res.statusCode === 200 ? { backend: body.trim() } : { error: `HTTP ${res.statusCode}` }));
    });
    req.on('error', (err) => settle({ error: errorCode(err) }));
    return () => req.destroy();
  });
}

function udpSocket(addr: string): dgram.Socket {
  return dgram.createSocket(net.isIPv6(addr) ? 'udp6' : 'udp4');
}

/** Request and answer sizes of a sized exchange (sized_udp.ts). */
interface Sizes {
  requestBytes: number;
  answerBytes: number;
}

/** Exchanges on one UDP socket; the echoed payload (sized: the echoed tag) pairs each answer with its request. */
class UdpProber implements Channel {
  private seq = 0;
  private pending?: { payload: string; settle: (o: Outcome) => void };

  constructor(
    private readonly sock: dgram.Socket,
    /** Unconnected sockets send to target; connected ones to their peer. */
    private readonly target?: { addr: string; port: number },
    onSocketError: (code: string) => void = () => undefined,
    private readonly sizes?: Sizes,
  ) {
    sock.on('message', (msg, rinfo) => {
      const from = { fromAddr: rinfo.address, fromPort: rinfo.port };
      if (this.sizes) {
        const a = parseSizedAnswer(msg);
        if (a && this.pending?.payload === a.tag) this.pending.settle({ backend: a.name, backendReceived: a.received, answerBytes: msg.length, ...from });
        return;
      }
      const text = msg.toString();
      const nl = text.indexOf('\n');
      if (nl >= 0 && this.pending?.payload === text.slice(nl + 1)) this.pending.settle({ backend: text.slice(0, nl), ...from });
    });
    sock.on('error', (err) => {
      onSocketError(errorCode(err));
      this.pending?.settle({ error: errorCode(err) });
    });
  }

  probe(timeoutMs: number): Promise<ProbeResult> {
    const payload = `probe ${this.seq++}`;
    const datagram = this.sizes ? sizedRequest(payload, this.sizes.requestBytes, this.sizes.answerBytes) : payload;
    return exchange(timeoutMs, (settle) => {
      this.pending = { payload, settle };
      const sent = (err: Error | null) => err && settle({ error: errorCode(err) });
      try {
        if (this.target) this.sock.send(datagram, this.target.port, this.target.addr, sent);
        else this.sock.send(datagram, sent);
      } catch (err) {
        settle({ error: errorCode(err) });
      }
      return () => (this.pending = undefined);
    });
  }

  close(): void {
    this.sock.close();
  }
}

function connectUdp(sock: dgram.Socket, addr: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => sock.connect(port, addr, (err?: Error) => resolve(err && errorCode(err))));
}

/** One TCP connection probed line by line. */
async function tcpChannel(addr: string, port: number, timeoutMs: number, emit: (e: HoldEvent) => void, t: () => number, answerBytes = 0, localPort?: number): Promise<Channel> {
  const sock = net.connect({ host: addr, port, localPort });
  let failure: string | undefined;
  let pending: { settle: (o: Outcome) => void; answered: boolean } | undefined;
  // Answers to probes that timed out may still arrive; they must not count for later probes.
  let staleAnswers = 0;
  onAnswers(sock, answerBytes, (line) => {
    if (staleAnswers > 0) staleAnswers--;
    else if (pending) {
      pending.answered = true;
      pending.settle({ backend: line });
    }
  });
  sock.on('error', (err) => {
    failure = errorCode(err);
    emit({ type: 'error', t: t(), error: failure });
    pending?.settle({ error: failure });
  });
  sock.on('close', () => {
    failure ??= 'EOF';
    pending?.settle({ error: failure });
  });
  const connectTimer = setTimeout(() => sock.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
  await new Promise((resolve) => {
    sock.once('connect', resolve);
    sock.once('close', resolve);
  });
  clearTimeout(connectTimer);
  if (!failure) emit({ type: 'connected', t: t(), peerAddr: sock.remoteAddress, peerPort: sock.remotePort });
  return {
    probe: (probeTimeoutMs) =>
      exchange(probeTimeoutMs, (settle) => {
        if (failure) {
          settle({ error: failure });
          return () => undefined;
        }
        const current = { settle, answered: false };
        pending = current;
        sock.write(answerBytes > 0 ? `send ${answerBytes}\n` : REQUEST);
        return () => {
          if (!current.answered && !failure) staleAnswers++;
          pending = undefined;
        };
      }),
    close: () => sock.destroy(),
  };
}

/** One connected UDP socket. */
async function udpChannel(addr: string, port: number, emit: (e: HoldEvent) => void, t: () => number, sizes?: Sizes): Promise<Channel> {
  const sock = udpSocket(addr);
  const connectError = await connectUdp(sock, addr, port);
  if (connectError) {
    emit({ type: 'error', t: t(), error: connectError });
    sock.close();
    return {
      probe: (ms) =>
        exchange(ms, (settle) => {
          settle({ error: connectError });
          return () => undefined;
        }),
      close: () => undefined,
    };
  }
  const peer = sock.remoteAddress();
  emit({ type: 'connected', t: t(), peerAddr: peer.address, peerPort: peer.port });
  return new UdpProber(sock, undefined, (error) => emit({ type: 'error', t: t(), error }), sizes);
}

let stopRequested = false;

async function repeat(o: Options, once: (i: number) => Promise<ProbeResult>) {
  const start = performance.now();
  const results: ProbeResult[] = [];
  while (results.length < o.count && !stopRequested) {
    if (performance.now() - start > o.deadlineMs) return { results, deadlineHit: true };
    results.push(await once(results.length));
    if (o.intervalMs > 0) await sleep(Math.max(0, start + results.length * o.intervalMs - performance.now()));
  }
  return { results, deadlineHit: false };
}

function tally(results: ProbeResult[], key: 'backend' | 'error'): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const k = r[key];
    if (k !== undefined) counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

interface Options {
  addr: string;
  port: number;
  count: number;
  timeoutMs: number;
  deadlineMs: number;
  /** Least time between probe starts; 0: back to back. */
  intervalMs: number;
  /** udp modes: sized requests and answers. */
  sizes?: Sizes;
  /** transfer: bytes up and down per connection. */
  upload: number;
  download: number;
  /** udp-connected-new-socket, transfer: probe i's source port is this + i; undefined: the kernel's pick. */
  sourcePort?: number;
}

/** The source port of probe i (numbered from 0), when they are chosen. */
const sourcePortOf = (o: Options, i: number) => (o.sourcePort === undefined ? undefined : o.sourcePort + i);

function bindUdp(sock: dgram.Socket, port: number | undefined): Promise<string | undefined> {
  if (port === undefined) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const failed = (err: Error) => resolve(errorCode(err));
    sock.once('error', failed);
    sock.bind(port, () => {
      sock.off('error', failed);
      resolve(undefined);
    });
  });
}

/** udp-connected-new-socket: a connected socket of its own for one exchange. */
async function udpConnectedOnce(addr: string, port: number, localPort: number | undefined, timeoutMs: number): Promise<ProbeResult> {
  const sock = udpSocket(addr);
  const start = performance.now();
  const connectError = (await bindUdp(sock, localPort)) ?? (await connectUdp(sock, addr, port));
  const result = connectError ? { error: connectError, ms: msSince(start) } : await new UdpProber(sock).probe(timeoutMs);
  sock.close();
  return result;
}

async function oneShot(mode: OneShotMode, o: Options): Promise<ClientReport> {
  const start = performance.now();
  let peer: { peerAddr?: string; peerPort?: number } = {};
  let run: { results: ProbeResult[]; deadlineHit: boolean };
  if (mode === 'tcp') {
    run = await repeat(o, () => tcpOnce(o.addr, o.port, o.timeoutMs));
  } else if (mode === 'http') {
    run = await repeat(o, () => httpOnce(o.addr, o.port, o.timeoutMs));
  } else if (mode === 'transfer') {
    run = await repeat(o, (i) => transferOnce(o.addr, o.port, sourcePortOf(o, i), o.upload, o.download, o.timeoutMs));
  } else if (mode === 'udp-connected-new-socket') {
    run = await repeat(o, (i) => udpConnectedOnce(o.addr, o.port, sourcePortOf(o, i), o.timeoutMs));
  } else if (mode === 'udp') {
    const prober = new UdpProber(udpSocket(o.addr), { addr: o.addr, port: o.port }, undefined, o.sizes);
    run = await repeat(o, () => prober.probe(o.timeoutMs));
    prober.close();
  } else if (mode === 'udp-new-socket') {
    run = await repeat(o, async () => {
      const prober = new UdpProber(udpSocket(o.addr), { addr: o.addr, port: o.port }, undefined, o.sizes);
      const result = await prober.probe(o.timeoutMs);
      prober.close();
      return result;
    });
  } else {
    const sock = udpSocket(o.addr);
    const connectStart = performance.now();
    const connectError = await connectUdp(sock, o.addr, o.port);
    if (connectError) {
      run = { results: [{ error: connectError, ms: msSince(connectStart) }], deadlineHit: false };
    } else {
      const p = sock.remoteAddress();
      peer = { peerAddr: p.address, peerPort: p.port };
      const prober = new UdpProber(sock, undefined, undefined, o.sizes);
      run = await repeat(o, () => prober.probe(o.timeoutMs));
    }
    sock.close();
  }
  return {
    mode,
    addr: o.addr,
    port: o.port,
    count: o.count,
    ...peer,
    results: run.results,
    backends: tally(run.results, 'backend'),
    errors: tally(run.results, 'error'),
    deadlineHit: run.deadlineHit,
    ms: msSince(start),
  };
}

async function hold(proto: string, o: Options, durationMs: number, flows: number): Promise<void> {
  const { intervalMs } = o;
  const start = performance.now();
  const t = () => Math.round(performance.now() - start);
  const write = (e: HoldEvent) => process.stdout.write(`${JSON.stringify(e)}\n`);
  const channels: Channel[] = [];
  for (let flow = 0; flow < flows; flow++) {
    // One flow keeps the events of old; more name theirs.
    const emit = flows === 1 ? write : (e: HoldEvent) => write(e.type === 'done' ? e : { ...e, flow });
    channels.push(proto === 'tcp' ? await tcpChannel(o.addr, o.port, o.timeoutMs, emit, t, o.sizes?.answerBytes, sourcePortOf(o, flow)) : await udpChannel(o.addr, o.port, emit, t, o.sizes));
  }
  const maxProbes = Math.floor(durationMs / intervalMs) + 1;
  let ok = 0;
  let probes = 0;
  // Each flow on its own schedule, spread over the interval: a burst of
  // thousands of datagrams at once would overflow the backends' buffers.
  await Promise.all(
    channels.map(async (channel, flow) => {
      const offset = (flow * intervalMs) / flows;
      await sleep(offset);
      for (let seq = 0; seq < maxProbes && performance.now() - start < durationMs; seq++) {
        const r = await channel.probe(Math.min(o.timeoutMs, intervalMs));
        probes++;
        if (r.backend !== undefined) ok++;
        write({ type: 'probe', t: t(), seq, ok: r.backend !== undefined, backend: r.backend, error: r.error, ms: r.ms, ...(flows === 1 ? {} : { flow }) });
        await sleep(Math.max(0, start + offset + (seq + 1) * intervalMs - performance.now()));
      }
    }),
  );
  for (const c of channels) c.close();
  write({ type: 'done', t: t(), probes, ok });
}

function intOption(values: Record<string, unknown>, name: string, min: number, max: number, fallback?: number): number {
  const raw = values[name];
  const n = raw === undefined ? fallback : Number(raw);
  if (n === undefined || !Number.isInteger(n) || n < min || n > max) {
    throw new Error(`--${name} must be an integer in ${min}..${max}, got ${raw ?? 'nothing'}`);
  }
  return n;
}

function sizesOption(mode: string | undefined, values: Record<string, unknown>): Sizes | undefined {
  if (values['request-bytes'] === undefined && values['answer-bytes'] === undefined) return undefined;
  if (mode === 'hold' && values.proto === 'tcp') {
    if (values['request-bytes'] !== undefined) throw new Error('a TCP hold takes --answer-bytes only (each probe asks for that many bytes back)');
    return { requestBytes: 0, answerBytes: intOption(values, 'answer-bytes', 1, MAX_TRANSFER) };
  }
  if (mode !== 'udp' && mode !== 'udp-connected' && mode !== 'udp-new-socket' && mode !== 'hold') throw new Error('--request-bytes and --answer-bytes are for the udp modes and hold');
  return {
    requestBytes: intOption(values, 'request-bytes', MIN_SIZED_BYTES, MAX_SIZED_BYTES),
    answerBytes: intOption(values, 'answer-bytes', MIN_SIZED_BYTES, MAX_SIZED_BYTES),
  };
}

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      addr: { type: 'string' },
      port: { type: 'string' },
      count: { type: 'string' },
      'timeout-ms': { type: 'string' },
      'deadline-ms': { type: 'string' },
      proto: { type: 'string' },
      'interval-ms': { type: 'string' },
      'duration-ms': { type: 'string' },
      flows: { type: 'string' },
      upload: { type: 'string' },
      download: { type: 'string' },
      'source-port': { type: 'string' },
      'request-bytes': { type: 'string' },
      'answer-bytes': { type: 'string' },
    },
  });
  const mode = positionals[0];
  if (!values.addr || !net.isIP(values.addr)) throw new Error(`--addr must be an IP address, got ${values.addr}`);
  const opts: Options = {
    addr: values.addr,
    port: intOption(values, 'port', 1, 65535),
    count: mode === 'hold' ? 0 : intOption(values, 'count', 1, MAX_COUNT),
    timeoutMs: intOption(values, 'timeout-ms', 1, 60_000, CLIENT_DEFAULTS.timeoutMs),
    deadlineMs: intOption(values, 'deadline-ms', 1, MAX_DURATION_MS, CLIENT_DEFAULTS.deadlineMs),
    intervalMs: mode === 'hold' ? intOption(values, 'interval-ms', MIN_INTERVAL_MS, 60_000, CLIENT_DEFAULTS.intervalMs) : intOption(values, 'interval-ms', 0, 60_000, 0),
    upload: intOption(values, 'upload', 0, MAX_TRANSFER, 0),
    download: intOption(values, 'download', 0, MAX_TRANSFER, 0),
    sizes: sizesOption(mode, values),
  };
  if (values['source-port'] !== undefined) opts.sourcePort = intOption(values, 'source-port', 1, 65535 - (opts.count - 1));
  if (mode === 'transfer' && opts.upload + opts.download === 0) throw new Error('transfer needs --upload or --download bytes');
  if (mode === 'hold') {
    if (values.proto !== 'tcp' && values.proto !== 'udp') throw new Error('--proto must be tcp or udp');
    const flows = intOption(values, 'flows', 1, MAX_HOLD_FLOWS, 1);
    if (opts.sourcePort !== undefined && values.proto !== 'tcp') throw new Error('hold takes --source-port for tcp only');
    if (opts.sourcePort !== undefined && opts.sourcePort + flows - 1 > 65535) throw new Error(`--source-port ${opts.sourcePort} leaves no port for ${flows} flows`);
    await hold(values.proto, opts, intOption(values, 'duration-ms', 1, MAX_DURATION_MS), flows);
  } else if (mode === 'tcp' || mode === 'udp' || mode === 'udp-connected' || mode === 'udp-new-socket' || mode === 'udp-connected-new-socket' || mode === 'http' || mode === 'transfer') {
    process.once('SIGTERM', () => (stopRequested = true));
    const report = `${JSON.stringify(await oneShot(mode, opts))}\n`;
    // A pipe takes writes asynchronously: exiting before this one is flushed cuts a long report short.
    await new Promise<void>((resolve, reject) => process.stdout.write(report, (err) => (err ? reject(err) : resolve())));
  } else {
    throw new Error(`unknown mode ${mode}; use tcp, udp, udp-connected, udp-new-socket, udp-connected-new-socket, http, transfer or hold`);
  }
}

// Exit, not a natural end: closed sockets' timers may linger. But only once
// stdout is flushed: a pipe takes writes asynchronously, and a report of
// thousands of results outgrows its buffer.
main().then(
  () => process.stdout.write('', () => process.exit(0)),
  (err: Error) => {
    process.stderr.write(`client: ${err.message}\n`);
    process.exit(2);
  },
);
