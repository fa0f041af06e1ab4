// Deterministic ordering by a string key (code-unit order, not locale
// order, so that results are identical on every machine).
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** items sorted by key(item), computing each key once. */
export function sortedBy<T>(items: T[], key: (t: T) => string): T[] {
  return items
    .map((item) => ({ k: key(item), item }))
    .sort((a, b) => compareStrings(a.k, b.k))
    .map((x) => x.item);
}
