// The one result format every benchmark writes (issue 6), read by report.ts
// to build BENCHMARKS.md: one file per benchmark, by default
// benchmarks/results/<bench>.json in the repo; `--json PATH` overrides.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { kubeVersions } from '../e2e/cluster';
import { describeMachine } from './machine';

/** kpr dsr: kpr in --bpf-lb-mode dsr where a bench measures both modes; kube-proxy iptables runs the
 *  host's iptables (nft backend), iptables-legacy the legacy one (kube_proxy_rules.ts says why both);
 *  xdp redirect: an XDP program that only forwards (a floor); kpr (dsr) work floor: kpr's own work on a balanced
 *  packet in that mode, without its lookups (a floor for kpr's design). */
export const PEERS = ['kpr', 'kpr dsr', 'kube-proxy iptables', 'kube-proxy iptables-legacy', 'kube-proxy nftables', 'direct', 'xdp redirect', 'kpr work floor', 'kpr dsr work floor'] as const;
export type Peer = (typeof PEERS)[number];

export interface BenchRow {
  scenario: string;
  scale?: number;
  scaleUnit?: string;
  peer: Peer;
  metric: string;
  unit: string;
  value: number;
  better: 'higher' | 'lower';
  /** The figure of each round, where value is their median: plots show their spread. */
  rounds?: number[];
}

/** A run's figures over time, kept beside its rows (e.g. counts per second). */
export interface BenchSamples {
  scenario: string;
  scale?: number;
  peer: Peer;
  /** Series of the same length, by name. */
  series: Record<string, number[]>;
  /** Whatever else the run reported, as it reported it. */
  detail?: Record<string, unknown>;
}

export interface BenchResult {
  bench: string;
  startedAt: string;
  machine: string;
  versions: Record<string, string>;
  options: Record<string, unknown>;
  rows: BenchRow[];
  errors: string[];
  /** What the run found that is no error: where and why a figure stops, shown under its section. */
  notes?: string[];
  samples?: BenchSamples[];
}

export function resultsDir(): string {
  return path.join(repoRoot(), 'benchmarks', 'results');
}

/** The value of `--json PATH` in args, or the benchmark's default file. */
export function jsonPath(bench: string, args: string[]): string {
  const i = args.indexOf('--json');
  if (i < 0) return path.join(resultsDir(), `${bench}.json`);
  const v = args[i + 1];
  if (!v || v.startsWith('--')) throw new Error('--json needs a file path');
  return path.resolve(v);
}

/** A result begun now, on this machine; the benchmark adds rows and errors. */
export function newResult(bench: string, options: Record<string, unknown>): BenchResult {
  const kube = kubeVersions();
  return {
    bench,
    startedAt: new Date().toISOString(),
    machine: describeMachine(),
    versions: { kernel: os.release(), node: process.version, kubernetes: kube.KUBE_VERSION, etcd: kube.ETCD_VERSION ?? '' },
    options,
    rows: [],
    errors: [],
  };
}

export function writeResult(file: string, result: BenchResult): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`results: ${file}`);
}

/** The end of a benchmark's run: its time, its results written; an error if it had any. */
export function finishRun(file: string, result: BenchResult, startedMs: number): void {
  console.log(`\nwhole run: ${((performance.now() - startedMs) / 60_000).toFixed(1)} min`);
  writeResult(file, result);
  if (result.errors.length > 0) throw new Error(`failed:\n${result.errors.join('\n')}`);
}

/** Every result file in dir, by file name; a file that is not a BenchResult is an error naming it. */
export function readResults(dir: string): BenchResult[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const file = path.join(dir, f);
      const r = JSON.parse(fs.readFileSync(file, 'utf8')) as BenchResult;
      if (typeof r.bench !== 'string' || !Array.isArray(r.rows) || !Array.isArray(r.errors)) throw new Error(`${file}: not a benchmark result (needs bench, rows, errors)`);
      return r;
    });
}
