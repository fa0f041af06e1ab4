// The agent under the control-plane benchmarks: kpr run in Kubernetes mode
// (standalone for the growth benchmark) on a fresh bpf root and test cgroup,
// with what the benchmark reads from the outside: its metrics port, its
// process's peak memory, and its log.
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { startAgent } from '../helpers/agent';
import { BpfRoot, createBpfRoot } from '../helpers/bpf_root';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { LineProcess } from '../helpers/line_process';
import { CPU_PROF_DIR_ENV } from './control_plane_cpu_prof';
import { childPids } from './proc_cpu';
import { NODE_NAME } from './control_plane_objects';

/** kpr's (and Cilium's) default --bpf-lb-map-max. */
const DEFAULT_LB_MAP_MAX = 65536;

/** The default, or the power of two that holds every service's master and
 *  backend slots (10k services of 10 endpoints need 110k entries). */
export function lbMapMaxFor(services: number, endpoints: number): number {
  const needed = services * (endpoints + 1);
  return Math.max(DEFAULT_LB_MAP_MAX, 2 ** Math.ceil(Math.log2(needed)));
}

export interface BenchAgent {
  proc: LineProcess;
  bpfRoot: BpfRoot;
  cgroup: TestCgroup;
  metricsPort: number;
  /** performance.now() when it was started and when it logged "kpr: ready". */
  startedAt: number;
  readyAt: number;
  /** Date.now() when it was started: its log lines carry wall-clock times. */
  startedWallMs: number;
  /** Stops it and removes its bpf root and cgroup; idempotent. */
  stop(): Promise<void>;
}

export interface AgentRunOptions {
  /** An API server's kubeconfig (Kubernetes mode), or a directory of manifests (standalone). */
  source: { kubeconfig: string } | { manifests: string };
  prefix: string;
  readyTimeoutMs: number;
  /** --bpf-lb-map-max: entries of the service map (a master and a slot per
   *  backend, per frontend) and of the backend map. */
  lbMapMax: number;
  /** Write a V8 CPU profile of the agent into this directory when it exits. */
  cpuProfDir?: string;
  /** Run as the agent of this node network namespace (/run/netns name). */
  netns?: string;
  /** Further flags, e.g. ['--devices', 'eth0']. */
  args?: string[];
  /** --min-sync-period (default 0s: every change synced at once, as kube-proxy's peer is set). */
  minSyncPeriod?: string;
}

/** A port that was free on 127.0.0.1 a moment ago. */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** Runs start() with the environment that makes the agent it starts write a
 *  CPU profile into dir when it exits (control_plane_cpu_prof.ts). The agent
 *  inherits this process's environment, which is put back at once. */
async function withCpuProfile<T>(dir: string, start: () => Promise<T>): Promise<T> {
  const savedEnv = { NODE_OPTIONS: process.env.NODE_OPTIONS, [CPU_PROF_DIR_ENV]: process.env[CPU_PROF_DIR_ENV] };
  process.env.NODE_OPTIONS = `--require ${path.join(__dirname, 'control_plane_cpu_prof.js')}`;
  process.env[CPU_PROF_DIR_ENV] = dir;
  try {
    return await start();
  } finally {
    for (const [name, value] of Object.entries(savedEnv)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** Starts the agent on fresh state and waits for "kpr: ready". */
export async function startBenchAgent(opts: AgentRunOptions): Promise<BenchAgent> {
  const cgroup = createTestCgroup(opts.prefix);
  const bpfRoot = createBpfRoot(opts.prefix);
  const metricsPort = await freePort();
  const args = [
    '--hostname-override', NODE_NAME,
    '--min-sync-period', opts.minSyncPeriod ?? '0s',
    '--bpf-lb-map-max', String(opts.lbMapMax),
    '--metrics-bind-address', `127.0.0.1:${metricsPort}`,
    // Off: the default 0.0.0.0:10256 may be taken by a test's agent.
    '--healthz-bind-address', '127.0.0.1:0',
    ...(opts.args ?? []),
  ];
  const startedAt = performance.now();
  const startedWallMs = Date.now();
  let proc: LineProcess;
  try {
    const run = () => startAgent({ ...opts.source, bpfRoot: bpfRoot.path, cgroupRoot: cgroup.path, args, netns: opts.netns, readyTimeoutMs: opts.readyTimeoutMs });
    proc = opts.cpuProfDir ? await withCpuProfile(opts.cpuProfDir, run) : await run();
  } catch (e) {
    bpfRoot.destroy();
    cgroup.destroy();
    throw e;
  }
  const readyAt = performance.now();
  let stopped = false;
  return {
    proc,
    bpfRoot,
    cgroup,
    metricsPort,
    startedAt,
    readyAt,
    startedWallMs,
    async stop() {
      if (stopped) return;
      stopped = true;
      await proc.stop();
      bpfRoot.destroy();
      cgroup.destroy();
    },
  };
}

/** The node process running the agent: bin/kpr is a script, and whatever
 *  runs it (env, a shell wrapper) may have spawned node rather than exec'd it. */
export function agentNodePid(pid: number): number {
  const queue = [pid];
  for (let n = 0; n < 64 && queue.length > 0; n++) {
    const p = queue.shift() as number;
    if (path.basename(fs.readlinkSync(`/proc/${p}/exe`)).startsWith('node')) return p;
    queue.push(...childPids(p));
  }
  throw new Error(`no node process at or below pid ${pid}`);
}

/** A /proc/<pid>/status memory figure (VmHWM: peak resident set) in MB (10^6 bytes). */
export function statusMB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/status: no ${field}`);
  return (Number(m[1]) * 1024) / 1e6;
}

/** Milliseconds from the agent's start to its first log line containing
 *  `text`, by the line's own timestamp ("<ISO time> <level> <message>"). */
export function logOffsetMs(agent: BenchAgent, text: string): number | undefined {
  const line = agent.proc.lines.find((l) => l.includes(text));
  const at = line === undefined ? NaN : Date.parse(line.split(' ')[0]);
  return Number.isNaN(at) ? undefined : at - agent.startedWallMs;
}
