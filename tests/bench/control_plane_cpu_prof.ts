// Preloaded into the agent (NODE_OPTIONS=--require this file) when the
// control-plane benchmark is asked for CPU profiles: node refuses --cpu-prof
// in NODE_OPTIONS, and bin/kpr starts node itself. Profiles the process from
// just after its BPF load (below) through the inspector, and writes a
// .cpuprofile (Chrome DevTools, speedscope) into $KPR_CPU_PROF_DIR at exit.
import * as fs from 'fs';
import * as inspector from 'inspector';
import * as path from 'path';

export const CPU_PROF_DIR_ENV = 'KPR_CPU_PROF_DIR';
// Finer than V8's default 1 ms: a 10k-service sync takes a few hundred ms.
const SAMPLING_INTERVAL_US = 200;

// The agent logs this once its BPF programs are loaded and attached.
const AFTER_BPF_LOAD = /\badopted \d+ frontends/;

function startProfiler(dir: string): void {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
  session.post('Profiler.start');
  // The agent exits through process.exit(); the main thread's session
  // answers synchronously, so the profile is written before the process ends.
  process.on('exit', () => {
    session.post('Profiler.stop', (err, result) => {
      if (!err) fs.writeFileSync(path.join(dir, `kpr-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

const dir = process.env[CPU_PROF_DIR_ENV];
// Only as a preload (no main module yet): the benchmark imports this file
// for the variable's name and must not profile itself.
if (dir && require.main === undefined) {
  // V8 samples with SIGPROF, and the kernel's verifier gives up with EAGAIN
  // when a signal is pending, so the profiler starts only after the BPF load:
  // at the log line that follows it. Module loading and the load itself are
  // not in the profile; the log's timestamps cover them.
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    if (AFTER_BPF_LOAD.test(String(chunk))) {
      process.stderr.write = write;
      startProfiler(dir);
    }
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
}
