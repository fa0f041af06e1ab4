// What `kpr maglev compute` prints: the whole table as JSON for tools, or, for
// people, each backend's share of the entries and the digest to compare with
// other nodes' output.
import { formatColumns } from './columns';
import { MaglevTable, slotCounts } from '../datapath/edge/maglev';

export function maglevJson(size: number, seed: number, t: MaglevTable): string {
  return `${JSON.stringify({ size, seed, backends: t.backends, table: Array.from(t.table), digest: t.digest })}\n`;
}

export function formatMaglevShares(size: number, seed: number, t: MaglevTable): string {
  const rows = slotCounts(t).map((n, i) => [t.backends[i], String(n), `${((100 * n) / size).toFixed(2)}%`]);
  return `size ${size}, seed ${seed}, ${t.backends.length} backends, digest ${t.digest}\n\n${formatColumns(['BACKEND', 'ENTRIES', 'SHARE'], rows)}`;
}
