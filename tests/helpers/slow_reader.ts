// A reader slow to read, for the far end of a pipe (pipeline.ts):
//   node slow_reader.js OUT_FILE
// It reads nothing at first, so that the writer fills the pipe and has to
// wait for it, then reads its stdin a small chunk at a time, pausing after
// each, into OUT_FILE until end of file or its deadline.
import * as fs from 'fs';
import { sleepSync } from './sleep';

/** Long enough for a writer that does not wait for its reader to have exited. */
const FIRST_READ_AFTER_MS = 1000;
/** Far below a pipe's 64 KiB: the writer meets a full pipe many times over. */
const CHUNK_BYTES = 4096;
const PAUSE_MS = 2;
const DEADLINE_MS = 60_000;

function main(out: string | undefined): void {
  if (!out) throw new Error('usage: slow_reader.js OUT_FILE');
  const fd = fs.openSync(out, 'w');
  const deadline = Date.now() + DEADLINE_MS;
  const chunk = Buffer.alloc(CHUNK_BYTES);
  sleepSync(FIRST_READ_AFTER_MS);
  try {
    for (let n = fs.readSync(0, chunk); n > 0 && Date.now() < deadline; n = fs.readSync(0, chunk)) {
      fs.writeSync(fd, chunk, 0, n);
      sleepSync(PAUSE_MS);
    }
  } finally {
    fs.closeSync(fd);
  }
}

try {
  main(process.argv[2]);
} catch (e) {
  process.stderr.write(`slow_reader: ${(e as Error).message}\n`);
  process.exit(1);
}
