// Plain-text tables for people: columns padded to their widest cell, two
// spaces apart, no trailing blanks.
export function formatColumns(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((c) => c[i].length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}
