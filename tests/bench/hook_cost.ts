// The kernel's own account of what a socket hook costs: with
// kernel.bpf_stats_enabled set, every program run adds its time to
// run_time_ns. Unlike a rate comparison on a shared VM, this is not noise.
import { execFileSync } from 'child_process';
import * as fs from 'fs';

const STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';

export interface ProgRunStats {
  runTimeNs: number;
  runCount: number;
}

/** Turns the kernel's BPF run-time accounting on; returns how to put it back. */
export function enableBpfStats(): () => void {
  const before = fs.readFileSync(STATS_SYSCTL, 'utf8').trim();
  fs.writeFileSync(STATS_SYSCTL, '1');
  return () => fs.writeFileSync(STATS_SYSCTL, before);
}

const bpftoolJson = (args: string[]): unknown => JSON.parse(execFileSync('bpftool', ['-j', ...args], { encoding: 'utf8' }));

/** Run statistics of the program named `name` attached to cgroup. */
export function attachedProgStats(cgroup: string, name: string): ProgRunStats {
  const attached = bpftoolJson(['cgroup', 'show', cgroup]) as { id: number; name: string }[];
  const prog = attached.find((p) => p.name === name);
  if (!prog) throw new Error(`no program ${name} attached to ${cgroup}`);
  const info = bpftoolJson(['prog', 'show', 'id', String(prog.id)]) as { run_time_ns?: number; run_cnt?: number };
  return { runTimeNs: info.run_time_ns ?? 0, runCount: info.run_cnt ?? 0 };
}

export function nsPerRun(s: ProgRunStats): number {
  return s.runCount > 0 ? s.runTimeNs / s.runCount : 0;
}
