// Which backend sits in which slot. A backend that stays keeps its slot when
// that slot still exists, so a change to one backend rewrites one slot and
// leaves the others (and the connections choosing them) alone.

/** desired: backend keys; current: slot -> backend key held now.
 *  Returns the key for each slot 1..desired.length (index 0 = slot 1). */
export function assignSlots(desired: string[], current: Map<number, string>): string[] {
  const n = desired.length;
  const wanted = new Set(desired);
  const layout: (string | undefined)[] = new Array(n).fill(undefined);
  const placed = new Set<string>();
  for (const [slot, key] of current) {
    if (slot <= n && wanted.has(key) && !placed.has(key)) {
      layout[slot - 1] = key;
      placed.add(key);
    }
  }
  const rest = desired.filter((k) => !placed.has(k));
  for (let i = 0, r = 0; i < n; i++) if (layout[i] === undefined) layout[i] = rest[r++];
  return layout as string[];
}
