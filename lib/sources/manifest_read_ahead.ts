// A sync of many manifest files (the start, a rescan) has them read and
// parsed on a worker thread, a few batches ahead of the main thread, which
// decodes and merges what was read before. Whenever no batch is back, the
// main thread takes files of its own, from the other end of the list, rather
// than wait: they come without a read, for the caller to read as it reads
// any file (with what it kept of them before). The order of reloads does not
// matter to what is served (manifest_merge.ts).
import { availableParallelism } from 'os';
import * as path from 'path';
import { MessageChannel, receiveMessageOnPort, Worker } from 'worker_threads';
import { Logger } from '../log';
import { ManifestRead } from './manifest_read';
import { WireRead } from './manifest_read_worker';

/** Files a sync holds before a worker pays (measured starts of 10 endpoints
 *  a service, one file each: at 1000 it cost 14 MB of peak RSS and 0.1 s,
 *  at 10k it made no difference, at 100k it saved 2-3 s); with one CPU it
 *  would only take turns with the main thread. */
export const READ_AHEAD_FROM = availableParallelism() >= 2 ? 16384 : Infinity;

/** Files per batch asked of the worker. */
const BATCH = 256;
/** Batches asked of the worker beyond the one the main thread waits for:
 *  enough that it never waits, few enough that none wait long in memory. */
const AHEAD = 2;
/** Files the main thread reads itself before it looks for the worker's batches again. */
const STEAL = 16;
/** How often the main thread looks for the worker's batch once all the files left are the worker's. */
const POLL_MS = 1;

/** Each file's read; undefined for a file left to the main thread. */
type Reads = [string, ManifestRead | undefined][];

function fromWire(read: WireRead): ManifestRead {
  if (!('chunks' in read)) return read;
  return { chunks: read.chunks.map(({ digest, line, json, docs }) => ({ digest, line, docs: json === undefined ? docs : JSON.parse(json) })) };
}

const WORKER = path.join(__dirname, 'manifest_read_worker.js');

/** The reads of dir's files names, in batches, in no set order. Should the
 *  worker (the script workerFile) fail, its files are left to the main thread. */
export async function* readAhead(dir: string, names: string[], log: Logger, workerFile = WORKER): AsyncGenerator<Reads> {
  const here = (batch: string[]): Reads => batch.map((name) => [name, undefined]);
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(workerFile, { workerData: { dir, port: port2 }, transferList: [port2] });
  // Never what keeps the agent running.
  worker.unref();
  let failure: Error | undefined;
  worker.on('error', (e) => (failure ??= e));
  worker.on('exit', (code) => (failure ??= new Error(`it exited with code ${code}`)));
  /** Batches asked of the worker and not back yet, in order. */
  const asked: string[][] = [];
  // names[0, front) are the worker's, names[back, end) the main thread's.
  let front = 0;
  let back = names.length;
  const ask = () => {
    if (front === back || failure) return;
    const batch = names.slice(front, (front = Math.min(back, front + BATCH)));
    asked.push(batch);
    port1.postMessage(batch);
  };
  let warned = false;
  try {
    for (let k = 0; k <= AHEAD; k++) ask();
    while (asked.length > 0 || front < back) {
      const reply = receiveMessageOnPort(port1);
      if (failure && !warned) log.warn(`manifests: the worker thread reading files failed (${failure.message}); reading its ${asked.flat().length} files here`);
      warned ||= failure !== undefined;
      if (reply) {
        asked.shift();
        ask();
        yield (reply.message as [string, WireRead][]).map(([name, read]) => [name, fromWire(read)]);
      } else if (failure && asked.length > 0) {
        yield here(asked.shift() as string[]);
      } else if (front < back) {
        const to = back;
        back = Math.max(front, back - STEAL);
        yield here(names.slice(back, to));
      } else {
        // Events (the worker's failure among them) come only between turns of the event loop.
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }
  } finally {
    port1.close();
    await worker.terminate();
  }
}
