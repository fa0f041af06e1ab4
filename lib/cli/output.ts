// The CLI's stdout and stderr. Node writes to a pipe asynchronously: what
// does not fit the pipe's 64 KiB waits in node for the reader, so a command
// exits only once both streams have drained. A reader that goes away early
// (`kpr services | head -1`) is no error, as it is none for `ls | head`:
// the rest of the output is dropped, and a streaming command stops. (The
// agent, whose log reader went away, keeps serving without a log.)

const gone = new Set<NodeJS.WriteStream>();

/** Called before a command writes anything. */
export function watchOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e; // a real failure to write: node reports it as it did
      gone.add(stream);
    });
  }
}

/** Whether stdout's reader has gone away: nothing written there is read any more. */
export function stdoutClosed(): boolean {
  return gone.has(process.stdout);
}

/** Resolves once stdout and stderr hold nothing unwritten, or their reader is gone. */
export function drainOutput(): Promise<void> {
  // A write's callback runs once every earlier write is out, or has failed.
  const drained = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write('', () => resolve()));
  return Promise.all([drained(process.stdout), drained(process.stderr)]).then(() => undefined);
}
