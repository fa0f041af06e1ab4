// Two commands joined by a real pipe, as a shell joins `writer | reader`. The
// pipeline exits with the writer's status (a shell gives the reader's), so a
// test sees how the writer took a reader that was slow or went away.
import * as path from 'path';
import { LineProcess } from './line_process';

// $1 is the writer's argument count; the reader's arguments follow the writer's.
const SCRIPT = 'n=$1; shift; "${@:1:n}" | "${@:n+1}"; exit "${PIPESTATUS[0]}"';

/** stdoutLines are the reader's output; stderrLines both commands' stderr. */
export function startPipeline(writer: string[], reader: string[]): LineProcess {
  const label = `${path.basename(writer[0])} ${writer[1] ?? ''} | ${path.basename(reader[0])}`;
  return new LineProcess(label, 'bash', ['-c', SCRIPT, 'pipeline', String(writer.length), ...writer, ...reader]);
}
