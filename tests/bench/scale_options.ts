// The flags both control-plane benchmarks take (control_plane.ts, peers.ts):
// how many services, changes and endpoints, and how hard to fill the API
// server; each benchmark adds flags of its own through `extra`.
import { MAX_CHANGES } from './control_plane_objects';

export interface ScaleOptions {
  scales: number[];
  changes: number;
  endpoints: number;
  concurrency: number;
}

/** A flag's value as a positive integer, or an error naming the flag. */
export function count(flag: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

/** Flags as pairs into defaults; extra takes a flag of the caller's and says
 *  whether it knew it. runs: how many runs of changes each scale makes. */
export function parseScaleOptions<O extends ScaleOptions>(
  args: string[],
  defaults: O,
  extra: (o: O, flag: string, v: string | undefined) => boolean,
  runs: (o: O) => number = () => 1,
): O {
  const o: O = { ...defaults };
  for (let i = 0; i < args.length; i += 2) {
    const [flag, v] = [args[i], args[i + 1]];
    if (flag === '--scales') o.scales = (v ?? '').split(',').map((s) => count(flag, s));
    else if (flag === '--changes') o.changes = count(flag, v);
    else if (flag === '--endpoints') o.endpoints = count(flag, v);
    else if (flag === '--concurrency') o.concurrency = count(flag, v);
    else if (!extra(o, flag, v)) throw new Error(`unknown flag or missing value: ${flag}`);
  }
  if (o.scales.some((s, k) => k > 0 && s <= o.scales[k - 1])) throw new Error('--scales must increase');
  if (o.changes * o.scales.length * runs(o) > MAX_CHANGES) throw new Error(`at most ${MAX_CHANGES} changes in all`);
  return o;
}
