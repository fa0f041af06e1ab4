// Deterministic ordering by a string key (code-unit order, not locale
// order, so that results are identical on every machine), and the test that
// an ordered list is the one seen before, item for item.
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** a and b hold the very same items in the same order. */
export function sameItems<T>(a: readonly T[] | undefined, b: readonly T[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** items sorted by key(item), computing each key once. */
export function sortedBy<T>(items: T[], key: (t: T) => string): T[] {
  return items
    .map((item) => ({ k: key(item), item }))
    .sort((a, b) => compareStrings(a.k, b.k))
    .map((x) => x.item);
}
