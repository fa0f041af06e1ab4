// Durations as Go writes them (time.ParseDuration), the syntax of kube-proxy's
// flags and configuration: "1s", "500ms", "1m30s", "1.5h", "0".

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Milliseconds, or undefined when text is not a duration. Negative
 *  durations are not accepted: no setting of kpr's can use one. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const m = PART.exec(text);
    if (!m) return undefined;
    ms += Number(m[1]) * UNIT_MS[m[2]];
  }
  return text.length > 0 ? ms : undefined;
}

/** "1m30s", "500ms", "0s": the shortest Go-style text for whole milliseconds. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}
