// Maglev tables from the real addon: the paper's own example, the balance and
// disruption bounds the paper promises, and the properties that let every node
// build the same table on its own (order, duplicates, seed, a pinned digest).
import { computeMaglev, computeMaglevFromPermutations, DEFAULT_MAGLEV_SEED, MaglevTable, slotCounts } from '../../lib/datapath/edge/maglev';

const backends = (n: number): string[] => Array.from({ length: n }, (_, i) => `198.18.${i >> 8}.${i & 255}:8080`);
const owners = (t: MaglevTable): string[] => Array.from(t.table, (i) => t.backends[i]);

describe('the paper (NSDI 2016, section 3.4, Table 1)', () => {
  // B0, B1, B2 with the table's offsets and skips, M = 7.
  const B0 = { offset: 3, skip: 4 };
  const B1 = { offset: 0, skip: 2 };
  const B2 = { offset: 3, skip: 1 };

  test('the lookup table before B1 is removed: B1 B0 B1 B0 B2 B2 B0', () => {
    expect(Array.from(computeMaglevFromPermutations(7, [B0, B1, B2]))).toEqual([1, 0, 1, 0, 2, 2, 0]);
  });

  test('after B1 is removed: its entries go to B0, and entry 6 moves from B0 to B2', () => {
    // Indexes now count B0 and B2 only: 0 = B0, 1 = B2.
    expect(Array.from(computeMaglevFromPermutations(7, [B0, B2]))).toEqual([0, 0, 0, 0, 1, 1, 1]);
  });

  test('permutations that would not visit every slot are refused', () => {
    expect(() => computeMaglevFromPermutations(8, [B0])).toThrow('maglev table size 8 is not a prime up to 131071');
    expect(() => computeMaglevFromPermutations(7, [{ offset: 7, skip: 1 }])).toThrow('needs offset < M and 0 < skip < M, M = 7');
    expect(() => computeMaglevFromPermutations(7, [{ offset: 0, skip: 0 }])).toThrow('needs offset < M and 0 < skip < M');
    expect(() => computeMaglevFromPermutations(7, [])).toThrow('maglev needs at least one backend');
  });
});

describe('computeMaglev', () => {
  test('1000 backends in 65537 slots: each owns floor(M/N) or ceil(M/N) entries', () => {
    const t = computeMaglev({ backends: backends(1000), size: 65537, seed: DEFAULT_MAGLEV_SEED });
    expect(t.table).toHaveLength(65537);
    const counts = slotCounts(t);
    expect(Math.min(...counts)).toBe(65);
    expect(Math.max(...counts)).toBe(66);
  });

  test('removing one backend of 1000 moves under 1% of the slots it did not own', () => {
    const all = backends(1000);
    const gone = all[417];
    const before = owners(computeMaglev({ backends: all, size: 65537, seed: DEFAULT_MAGLEV_SEED }));
    const after = owners(computeMaglev({ backends: all.filter((b) => b !== gone), size: 65537, seed: DEFAULT_MAGLEV_SEED }));
    const moved = before.filter((b, s) => b !== gone && after[s] !== b).length;
    expect(after).not.toContain(gone);
    expect(moved).toBeLessThan(0.01 * 65537);
  });

  test('the same set gives the same table and digest in any order and with duplicates', () => {
    const set = ['198.18.0.12:80', '[fd00:198:18::11]:80', '198.18.0.11:80', '198.18.0.100:80'];
    const a = computeMaglev({ backends: set, size: 251, seed: 7 });
    const b = computeMaglev({ backends: [...set].reverse().concat(set[0], set[2]), size: 251, seed: 7 });
    expect(a.backends).toEqual(['198.18.0.100:80', '198.18.0.11:80', '198.18.0.12:80', '[fd00:198:18::11]:80']);
    expect(b.backends).toEqual(a.backends);
    expect(Array.from(b.table)).toEqual(Array.from(a.table));
    expect(b.digest).toBe(a.digest);
    expect(a.digest).toMatch(/^[0-9a-f]{16}$/);
  });

  test('another seed gives another table and digest', () => {
    const a = computeMaglev({ backends: backends(10), size: 16381, seed: 1 });
    const b = computeMaglev({ backends: backends(10), size: 16381, seed: 2 });
    const bOwners = owners(b);
    const same = owners(a).filter((owner, s) => bOwners[s] === owner).length;
    expect(same / 16381).toBeLessThan(0.2); // about 1 in 10 by chance
    expect(b.digest).not.toBe(a.digest);
  });

  // Nodes running different kpr builds must agree: a change to the hash or
  // the fill order is a change of the wire contract and shows up here.
  test('a pinned table and digest', () => {
    const t = computeMaglev({ backends: ['198.18.0.11:8080', '198.18.0.12:8080', '[fd00:198:18::11]:8080'], size: 251, seed: DEFAULT_MAGLEV_SEED });
    expect(Array.from(t.table.subarray(0, 16))).toEqual(PINNED_HEAD);
    expect(slotCounts(t)).toEqual([84, 84, 83]);
    expect(t.digest).toBe(PINNED_DIGEST);
  });

  test('every prime size from 251 to 131071 is taken, 65537 included; others are refused by name', () => {
    for (const size of [251, 65521, 65537, 131071]) expect(computeMaglev({ backends: backends(3), size, seed: 0 }).table).toHaveLength(size);
    const range = /is not a prime from 251 to 131071/;
    for (const size of [0, 241, 1000, 65536, 131101]) expect(() => computeMaglev({ backends: backends(3), size, seed: 0 })).toThrow(range);
  });

  test('bad arguments', () => {
    expect(() => computeMaglev({ backends: [], size: 251, seed: 0 })).toThrow('maglev needs at least one backend');
    expect(() => computeMaglev({ backends: [1 as unknown as string], size: 251, seed: 0 })).toThrow("'backends' must be an array of strings");
    expect(() => computeMaglev({ backends: backends(1), size: 251, seed: 2 ** 32 })).toThrow("'seed' must be an unsigned 32-bit integer");
  });

  test('a name longer than the addon reads at once is read whole', () => {
    const long = `${'x'.repeat(200)}:1`;
    expect(computeMaglev({ backends: [long, long.slice(1)], size: 251, seed: 0 }).backends).toEqual([long.slice(1), long]);
  });
});

const PINNED_HEAD = [1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1];
const PINNED_DIGEST = '6a8940b88781d75c';
