// Benchmark (make bench), not a test: how long an endpoint change in a
// manifest file takes to reach the BPF maps. The agent watches a directory of
// SERVICES files, one Service + EndpointSlice each; every change rewrites one
// file the way editors do (temporary file, then rename) with a new backend
// address, and the pinned maps are polled until that service points at it.
// Writes bench_result.ts's rows (--json PATH overrides the file).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FrontendKey, loadAddon } from '../../lib/datapath/native';
import { createTestCgroup } from '../helpers/cgroup';
import { createBpfRoot } from '../helpers/bpf_root';
import { startAgent } from '../helpers/agent';
import { serviceManifest, ServiceSpec, writeManifest } from '../helpers/manifests';
import { programmedBackends } from '../helpers/maps';
import { LineProcess } from '../helpers/line_process';
import { sleep } from '../helpers/sleep';
import { jsonPath, newResult, writeResult } from './bench_result';
import { describeMachine } from './machine';
import { percentile } from './stats';

const SERVICES = 1000;
const CHANGES = 100;
// Coprime with SERVICES: the changes touch CHANGES different files.
const FILE_STRIDE = 37;
const CHANGE_TIMEOUT_MS = 10_000;
const READY_TIMEOUT_MS = 120_000;
const POLL_MS = 1;
const SERVICE_PORT = 80;
const BACKEND_PORT = 8080;
const PER_SUBNET = 250;

// n = 1.. -> 198.<a>.<base + (n-1)/250>.<1 + (n-1)%250>: no .0 or .255 hosts.
function address(secondOctet: number, thirdBase: number, n: number): string {
  return `198.${secondOctet}.${thirdBase + Math.floor((n - 1) / PER_SUBNET)}.${1 + ((n - 1) % PER_SUBNET)}`;
}
const serviceIP = (i: number) => address(19, 1, i);
const initialBackend = (i: number) => address(18, 16, i);
const changedBackend = (n: number) => address(18, 128, n);
const fileName = (i: number) => `svc-${String(i).padStart(4, '0')}.yaml`;
const frontend = (i: number): FrontendKey => ({ addr: serviceIP(i), port: SERVICE_PORT, proto: 'TCP' });

function spec(i: number, backend: string): ServiceSpec {
  return {
    namespace: 'bench',
    name: `svc-${i}`,
    clusterIPs: [serviceIP(i)],
    ports: [{ name: 'http', port: SERVICE_PORT, targetPort: BACKEND_PORT }],
    endpoints: [{ addr: backend }],
  };
}

/** Milliseconds until check() holds, or undefined after CHANGE_TIMEOUT_MS. */
async function timeUntil(start: number, check: () => boolean): Promise<number | undefined> {
  while (performance.now() - start < CHANGE_TIMEOUT_MS) {
    if (check()) return performance.now() - start;
    await sleep(POLL_MS);
  }
  return undefined;
}

const BENCH = 'manifest-latency';

async function main(): Promise<void> {
  const json = jsonPath(BENCH, process.argv.slice(2));
  const result = newResult(BENCH, { services: SERVICES, changes: CHANGES, pollMs: POLL_MS });
  const cgroup = createTestCgroup('bench-latency');
  const bpfRoot = createBpfRoot('bench-latency');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-bench-'));
  let agent: LineProcess | undefined;
  try {
    for (let i = 1; i <= SERVICES; i++) writeManifest(dir, fileName(i), serviceManifest(spec(i, initialBackend(i))));
    const startAt = performance.now();
    agent = await startAgent({ manifests: dir, bpfRoot: bpfRoot.path, cgroupRoot: cgroup.path, readyTimeoutMs: READY_TIMEOUT_MS });
    const readyMs = performance.now() - startAt;
    const maps = loadAddon().openPinnedSocketMaps(path.join(bpfRoot.path, 'kpr', 'maps'));

    const latencies: number[] = [];
    const timedOut: string[] = [];
    try {
      for (let n = 1; n <= CHANGES; n++) {
        const i = 1 + ((n * FILE_STRIDE) % SERVICES);
        const addr = changedBackend(n);
        const start = performance.now();
        writeManifest(dir, fileName(i), serviceManifest(spec(i, addr)));
        const ms = await timeUntil(start, () => {
          const now = programmedBackends(maps, frontend(i));
          return now.length === 1 && now[0].addr === addr && now[0].port === BACKEND_PORT;
        });
        if (ms === undefined) timedOut.push(`${fileName(i)} -> ${addr}`);
        else latencies.push(ms);
      }
    } finally {
      maps.close();
    }

    console.log(`\nmanifest-to-map latency: ${SERVICES} services, ${CHANGES} endpoint changes (write temporary file + rename)`);
    console.log(`machine: ${describeMachine()}`);
    console.log(`  agent ready with ${SERVICES} services after ${(readyMs / 1000).toFixed(2)} s`);
    if (latencies.length > 0) {
      const fmt = (p: number) => percentile(latencies, p).toFixed(1);
      console.log(`  p50 ${fmt(50)} ms   p99 ${fmt(99)} ms   max ${fmt(100)} ms   (maps polled every ${POLL_MS} ms)`);
    }
    const at = { scenario: 'manifest-change-latency', scale: SERVICES, scaleUnit: 'services', peer: 'kpr' as const, unit: 'ms', better: 'lower' as const };
    const rows = [
      { ...at, scenario: 'manifest-cold-start', metric: 'start to ready', unit: 's', value: readyMs / 1000 },
      ...(latencies.length > 0 ? [50, 99].map((p) => ({ ...at, metric: `latency p${p}`, value: percentile(latencies, p) })) : []),
    ];
    writeResult(json, { ...result, rows, errors: timedOut.map((t) => `not in the maps after ${CHANGE_TIMEOUT_MS} ms: ${t}`) });
    if (timedOut.length > 0) throw new Error(`not in the maps after ${CHANGE_TIMEOUT_MS} ms:\n${timedOut.join('\n')}`);
  } finally {
    await agent?.stop();
    bpfRoot.destroy();
    cgroup.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  console.error(`bench manifest latency: ${e.message}`);
  process.exit(1);
});
