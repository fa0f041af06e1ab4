// The edge packet-rate benchmark's XDP tools (build/xdpgen, tests/bench/xdpgen.c)
// as the benchmark drives them: the generator in the client's namespace,
// pinned to one CPU; the counter on the backend's device; the redirect-only
// floor and the work floor (kpr's work with no lookup) on the node's external
// device. The counter and the floors give their device back its former
// program when stopped.
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { LineProcess } from '../helpers/line_process';
import { sleep } from '../helpers/sleep';

const XDPGEN = path.join(repoRoot(), 'build', 'xdpgen');
const ATTACH_MS = 10_000;
const COUNT_MS = 5_000;
const STDERR_KEPT = 3;
const SETTLE_MS = 100;
const SETTLE_READS = 20;
/** Beyond a run's seconds: loading the program, and the last call's tenth of a second. */
const SEND_MARGIN_MS = 20_000;

function inNamespace(name: string, ns: string, argv: string[]): LineProcess {
  return new LineProcess(name, 'ip', ['netns', 'exec', ns, ...argv]);
}

/** e with what p said last (a verifier's log ends with its verdict, the
 *  generator's with the kernel's refusal) on its first line: a caller may keep only that. */
function withWhatItSaid(p: LineProcess, e: unknown): Error {
  const [first, ...rest] = (e as Error).message.split('\n');
  const said = p.stderrLines.slice(-STDERR_KEPT).join('; ');
  return new Error([`${first}${said ? `: ${said}` : ''}`, ...rest].join('\n'));
}

async function attached(p: LineProcess): Promise<LineProcess> {
  try {
    await p.waitForLine('attached', (l) => l === 'attached', ATTACH_MS);
    return p;
  } catch (e) {
    await p.stop();
    throw withWhatItSaid(p, e);
  }
}

export interface Counter {
  /** UDP and IP-in-IP packets that have reached the device since the counter started. */
  packets(): Promise<number>;
  stop(): Promise<void>;
}

export async function startCounter(ns: string, dev: string): Promise<Counter> {
  const p = await attached(inNamespace('xdpgen count', ns, [XDPGEN, 'count', dev]));
  return {
    async packets() {
      const seen = p.stdoutLines.length;
      // `ip netns exec` execs the tool: the pid is its own.
      process.kill(p.pid as number, 'SIGUSR1');
      await p.waitUntil('its count', () => (p.stdoutLines.length > seen ? true : undefined), COUNT_MS);
      return (JSON.parse(p.stdoutLines[p.stdoutLines.length - 1]) as { packets: number }).packets;
    },
    async stop() {
      await p.stop();
    },
  };
}

/** What the counter has seen since `before`, once frames still in flight have arrived (the count holds
 *  still for SETTLE_MS, at most SETTLE_READS times). */
export async function arrivedSince(counter: Counter, before: number): Promise<number> {
  let last = await counter.packets();
  for (let i = 0; i < SETTLE_READS; i++) {
    await sleep(SETTLE_MS);
    const now = await counter.packets();
    if (now === last) break;
    last = now;
  }
  return last - before;
}

/** Every UDP packet arriving on inDev leaves by outDev to dstMac until stopped. */
export async function startRedirect(ns: string, inDev: string, outDev: string, dstMac: string): Promise<{ stop(): Promise<void> }> {
  const p = await attached(inNamespace('xdpgen redirect', ns, [XDPGEN, 'redirect', inDev, outDev, dstMac]));
  return { stop: async () => void (await p.stop()) };
}

/** In place of the running kpr's program on dev until stopped: its work on a balanced packet in mode,
 *  on its own maps, without looking up a frontend or a flow (tests/native/bench_xdp_work.c). */
export async function startWork(ns: string, dev: string, mode: 'snat' | 'dsr'): Promise<{ stop(): Promise<void> }> {
  const p = await attached(inNamespace('xdpgen work', ns, [XDPGEN, 'work', dev, mode]));
  return { stop: async () => void (await p.stop()) };
}

export interface Flows {
  firstSource: string;
  addrs: number;
  ports: number;
}

export interface SendTarget {
  /** The node's MAC address on the client's link. */
  mac: string;
  addr: string;
  port: number;
}

/** How the frames are made: by BPF_PROG_TEST_RUN in live-frames mode (the
 *  benchmark's rates need it), or, where the kernel refuses that mode, from a
 *  packet socket (enough frames for a test of what carries them, at a rate
 *  far below the load balancers'). */
export type Generator = 'live-frames' | 'packet-socket';

export interface Sent {
  sent: number;
  seconds: number;
  generator: Generator;
}

/** xdpgen send's exit where the kernel refuses live frames and they alone were allowed. */
const LIVE_FRAMES_REFUSED = 3;

/** The kernel refuses the generator the benchmark needs: no peer can be measured. */
export class LiveFramesRefused extends Error {}

/** Frames out of the client's eth0 for `seconds`, from `cpu` alone; `allow`:
 *  'live-frames' throws LiveFramesRefused where the kernel refuses that mode,
 *  'any' then sends from a packet socket. */
export async function send(ns: string, cpu: number, flows: Flows, to: SendTarget, seconds: number, allow: 'live-frames' | 'any'): Promise<Sent> {
  const argv = ['taskset', '-c', String(cpu), XDPGEN, 'send', allow, 'eth0', to.mac, flows.firstSource, String(flows.addrs), String(flows.ports), to.addr, String(to.port), String(seconds)];
  const p = inNamespace('xdpgen send', ns, argv);
  try {
    await p.waitForSuccess(seconds * 1000 + SEND_MARGIN_MS);
  } catch (e) {
    const said = withWhatItSaid(p, e);
    throw (await p.stop()).code === LIVE_FRAMES_REFUSED ? new LiveFramesRefused(said.message.split('\n')[0]) : said;
  }
  return JSON.parse(p.stdoutLines[p.stdoutLines.length - 1]) as Sent;
}
