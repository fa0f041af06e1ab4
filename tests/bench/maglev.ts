// Benchmark (make bench), not a test: how long a Maglev table takes to build,
// through the addon as the agent calls it (JS strings in, Uint32Array out),
// for the table sizes operators pick and pools of 10 to 1000 backends. There
// is no peer to run beside it here, so it prints the published figures of the
// paper and of Cilium next to ours, with the machines they came from.
// Writes bench_result.ts's rows (--json PATH overrides the file).
import { computeMaglev, DEFAULT_MAGLEV_SEED } from '../../lib/datapath/edge/maglev';
import { BenchRow, jsonPath, newResult, writeResult } from './bench_result';
import { describeMachine } from './machine';
import { median, ofRounds } from './stats';

const SIZES = [16381, 65537, 131071];
const POOLS = [10, 100, 1000];
const RUNS = 21;
const WARMUP = 3;
// The targets, N = 1000: the paper's figure at 65537, and 5 ms at the largest size.
const TARGETS_MS = new Map([
  [65537, 1.8],
  [131071, 5],
]);

const pool = (n: number) => Array.from({ length: n }, (_, i) => `198.18.${i >> 8}.${i & 255}:8080`);

function buildMs(size: number, backends: string[]): number {
  const start = process.hrtime.bigint();
  computeMaglev({ backends, size, seed: DEFAULT_MAGLEV_SEED });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const BENCH = 'maglev';

function main(): void {
  const json = jsonPath(BENCH, process.argv.slice(2));
  const result = newResult(BENCH, { sizes: SIZES, backends: POOLS, runs: RUNS, warmup: WARMUP });
  /** ms of each run, by "size/backends". */
  const runs = new Map<string, number[]>();
  for (const size of SIZES) {
    for (const n of POOLS) {
      const backends = pool(n);
      for (let i = 0; i < WARMUP; i++) buildMs(size, backends);
      runs.set(`${size}/${n}`, Array.from({ length: RUNS }, () => buildMs(size, backends)));
    }
  }
  const medianOf = (size: number, n: number) => median(runs.get(`${size}/${n}`) as number[]);
  console.log(`Maglev table build, computeMaglev() through the addon: median of ${RUNS} runs, in ms`);
  console.log(`machine: ${describeMachine()}`);
  console.log(`  ${'M \\ N'.padEnd(8)}${POOLS.map((n) => String(n).padStart(9)).join('')}`);
  for (const size of SIZES) console.log(`  ${String(size).padEnd(8)}${POOLS.map((n) => medianOf(size, n).toFixed(3).padStart(9)).join('')}`);
  console.log('published, N = 1000:');
  console.log('  Maglev paper (Eisenbud et al., NSDI 2016), as the issue cites it, M = 65537: 1.8 ms');
  console.log('  Cilium pkg/maglev, BenchmarkGetMaglevTable (Go, i9-13950HX, PR #35885), M = 16381: 8.17 ms');
  for (const [size, target] of TARGETS_MS) {
    const ms = medianOf(size, 1000);
    console.log(`target N = 1000, M = ${size}: < ${target} ms: ${ms.toFixed(3)} ms, ${ms < target ? 'met' : 'MISSED'}`);
  }
  const rows: BenchRow[] = SIZES.flatMap((size) =>
    POOLS.map((n) => ({ scenario: 'maglev-build', scale: size, scaleUnit: 'table size', peer: 'kpr' as const, metric: `build, ${n} backends`, unit: 'ms', ...ofRounds(runs.get(`${size}/${n}`) as number[]), better: 'lower' as const })),
  );
  writeResult(json, { ...result, rows });
}

main();
