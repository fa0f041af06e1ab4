// Maglev lookup tables, computed by the native core (native/src/maglev.h).
// Every node that is given the same backend set, table size and seed builds
// the same table, whatever order the backends arrive in; the digest lets
// operators compare tables across nodes without comparing M numbers.
import { loadAddon, MaglevInput, MaglevPermutation } from '../native';

/** Cilium's default --bpf-lb-maglev-table-size: about 100 slots per backend
 *  for up to 163 backends, the paper's rule for at most 1% imbalance. */
export const DEFAULT_MAGLEV_TABLE_SIZE = 16381;
/** The sizes the addon takes (kMaglevMinSize, kMaglevMaxSize in native/src/maglev.h):
 *  every prime in this range; named here for flag parsing and help. */
export const MAGLEV_MIN_TABLE_SIZE = 251;
export const MAGLEV_MAX_TABLE_SIZE = 131071;
/** The table sizes Cilium's --bpf-lb-maglev-table-size accepts: primes
 *  about twice apart, so that an operator's choice carries over. */
export const MAGLEV_TABLE_SIZES = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071] as const;
/** Any fixed value does, as long as every node uses the same one; a cluster
 *  that wants tables unlike its neighbours' picks another. */
export const DEFAULT_MAGLEV_SEED = 0x6b707230;

const CILIUM_SEED = /^[A-Za-z0-9+/]{16}$/;

/** A seed as flags give it: an unsigned 32-bit integer, or Cilium's
 *  --bpf-lb-maglev-hash-seed, 12 random bytes in base64 (head -c12
 *  /dev/urandom | base64), whose three 32-bit little-endian words are
 *  folded by XOR into the one the datapath hashes with, so that a seed
 *  copied from a Cilium configuration keeps nodes agreeing. undefined: neither. */
export function parseMaglevSeed(text: string): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n <= 0xffffffff ? n : undefined;
  }
  if (!CILIUM_SEED.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return (bytes.readUInt32LE(0) ^ bytes.readUInt32LE(4) ^ bytes.readUInt32LE(8)) >>> 0;
}

export interface MaglevTable {
  /** The input's backends sorted bytewise, without duplicates. */
  backends: string[];
  /** size slots, each an index into backends. */
  table: Uint32Array;
  /** 16 hex digits over size, seed, backends and table. */
  digest: string;
}

export function computeMaglev(input: MaglevInput): MaglevTable {
  const { order, table, digest } = loadAddon().computeMaglev(input);
  return { backends: Array.from(order, (i) => input.backends[i]), table, digest };
}

export function computeMaglevFromPermutations(size: number, permutations: MaglevPermutation[]): Uint32Array {
  return loadAddon().computeMaglevFromPermutations({ size, permutations });
}

/** How many slots each backend owns, indexed like t.backends. */
export function slotCounts(t: MaglevTable): number[] {
  const counts = new Array<number>(t.backends.length).fill(0);
  for (const b of t.table) counts[b]++;
  return counts;
}
