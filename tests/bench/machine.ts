// Benchmark results only mean something next to the machine they came from.
import * as os from 'os';

export function describeMachine(): string {
  const cpus = os.cpus();
  return `${cpus.length} CPUs (${cpus[0]?.model ?? 'unknown model'}), kernel ${os.release()}, node ${process.version}`;
}
