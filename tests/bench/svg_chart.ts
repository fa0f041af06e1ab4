// The benchmark report's plots (report.ts), as plain SVG text: grouped bars
// (one group per scale, one bar per peer) and lines across scale. Figures of
// kpr and kube-proxy differ by up to a few hundred times, so the value axis
// turns logarithmic when the largest is more than LOG_ABOVE times the smallest;
// on a linear axis kpr's bars would not be seen. A figure that is the median
// of rounds carries a whisker from its lowest to its highest round, so that a
// reader sees when two figures are within each other's noise.

export interface ChartSeries {
  /** Peer label, also its colour. */
  name: string;
  /** One per category; undefined where not measured. */
  values: (number | undefined)[];
  /** Per category, the lowest and highest round behind the value, drawn as a whisker. */
  spread?: (Spread | undefined)[];
}

export type Spread = [min: number, max: number];

export interface Chart {
  title: string;
  /** Value axis label, e.g. 'ms (lower is better)'. */
  axis: string;
  /** Category labels along the bottom, e.g. the scales. */
  categories: string[];
  series: ChartSeries[];
}

const WIDTH = 720;
const HEIGHT = 380;
const LEFT = 80;
const RIGHT = 20;
const TOP = 56;
const BOTTOM = 56;
const LOG_ABOVE = 30;
const COLOURS: Record<string, string> = {
  kpr: '#1b9e77',
  'kube-proxy iptables': '#d95f02',
  'kube-proxy iptables-legacy': '#e6ab02',
  'kube-proxy nftables': '#7570b3',
  direct: '#666666',
  'kpr dsr': '#66a61e',
  'xdp redirect': '#999999',
  'kpr work floor': '#a6d8c8',
  'kpr dsr work floor': '#c2e09a',
};
const SPARE_COLOURS = ['#e7298a', '#a6761d', '#1f78b4'];

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Three significant digits, no exponent: 0.0123, 1.23, 123, 12300. */
export function formatValue(v: number): string {
  if (v === 0) return '0';
  return Math.abs(v) >= 1000 ? String(Math.round(v)) : String(Number(v.toPrecision(3)));
}

interface Axis {
  /** y pixel of a value. */
  y(v: number): number;
  ticks: number[];
  log: boolean;
}

function niceStep(range: number): number {
  const raw = range / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) as number;
}

export function valueAxis(values: number[]): Axis {
  const plotH = HEIGHT - TOP - BOTTOM;
  const positive = values.filter((v) => v > 0);
  const max = Math.max(...values, 0);
  const min = Math.min(...positive);
  if (positive.length === values.length && positive.length > 0 && max / min > LOG_ABOVE) {
    // Below the smallest figure, or its bar would have no height.
    const lo = Math.ceil(Math.log10(min)) - 1;
    const hi = Math.ceil(Math.log10(max));
    const ticks = Array.from({ length: hi - lo + 1 }, (_, k) => 10 ** (lo + k));
    return { y: (v) => TOP + plotH * (1 - (Math.log10(v) - lo) / (hi - lo)), ticks, log: true };
  }
  const step = niceStep(max > 0 ? max : 1);
  const top = Math.ceil((max > 0 ? max : 1) / step) * step;
  const ticks = Array.from({ length: Math.round(top / step) + 1 }, (_, k) => k * step);
  return { y: (v) => TOP + plotH * (1 - v / top), ticks, log: false };
}

function colour(name: string, k: number): string {
  return COLOURS[name] ?? SPARE_COLOURS[k % SPARE_COLOURS.length];
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escapeXml(s)}</text>`;
}

/** Frame, title, value axis with grid, legend; returns the parts and the axis. */
function frame(c: Chart): { parts: string[]; axis: Axis } {
  const values = c.series.flatMap((s) => [...s.values, ...(s.spread ?? []).flat()].filter((v): v is number => v !== undefined));
  const axis = valueAxis(values);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    text(WIDTH / 2, 20, c.title, 'text-anchor="middle" font-size="14" font-weight="bold"'),
    text(16, TOP + (HEIGHT - TOP - BOTTOM) / 2, `${c.axis}${axis.log ? ', log scale' : ''}`, `text-anchor="middle" transform="rotate(-90 16 ${TOP + (HEIGHT - TOP - BOTTOM) / 2})"`),
  ];
  for (const t of axis.ticks) {
    const y = axis.y(t);
    parts.push(`<line x1="${LEFT}" y1="${y.toFixed(1)}" x2="${WIDTH - RIGHT}" y2="${y.toFixed(1)}" stroke="#dddddd"/>`);
    parts.push(text(LEFT - 6, y + 4, formatValue(t), 'text-anchor="end"'));
  }
  let x = LEFT;
  c.series.forEach((s, k) => {
    parts.push(`<rect x="${x}" y="32" width="12" height="12" fill="${colour(s.name, k)}"/>`);
    parts.push(text(x + 16, 42, s.name));
    x += 24 + s.name.length * 7;
  });
  return { parts, axis };
}

function categoryLabels(c: Chart, centre: (i: number) => number): string[] {
  return c.categories.map((cat, i) => text(centre(i), HEIGHT - BOTTOM + 18, cat, 'text-anchor="middle"'));
}

const baseY = (axis: Axis) => axis.y(axis.ticks[0]);

/** A min-max whisker at x, with caps. */
function whisker(x: number, spread: Spread | undefined, axis: Axis): string[] {
  if (!spread) return [];
  const [lo, hi] = spread.map((v) => axis.y(v).toFixed(1));
  const cap = (y: string) => `<line x1="${(x - 4).toFixed(1)}" y1="${y}" x2="${(x + 4).toFixed(1)}" y2="${y}" stroke="black"/>`;
  return [
    `<g class="spread"><title>${escapeXml(`rounds from ${formatValue(spread[0])} to ${formatValue(spread[1])}`)}</title>`,
    `<line x1="${x.toFixed(1)}" y1="${lo}" x2="${x.toFixed(1)}" y2="${hi}" stroke="black"/>`,
    cap(lo),
    cap(hi),
    '</g>',
  ];
}

/** One group of bars per category, one bar per series; "n/m" where a series was not measured. */
export function barChart(c: Chart): string {
  const { parts, axis } = frame(c);
  const groupW = (WIDTH - LEFT - RIGHT) / c.categories.length;
  const barW = (groupW * 0.8) / c.series.length;
  const base = baseY(axis);
  c.categories.forEach((_, i) => {
    c.series.forEach((s, k) => {
      const x = LEFT + i * groupW + groupW * 0.1 + k * barW;
      const v = s.values[i];
      if (v === undefined) {
        parts.push(text(x + barW / 2, base - 4, 'n/m', 'text-anchor="middle" fill="#999999"'));
        return;
      }
      const y = axis.y(v);
      parts.push(`<rect class="bar" x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(base - y).toFixed(1)}" fill="${colour(s.name, k)}"><title>${escapeXml(`${s.name}: ${formatValue(v)}`)}</title></rect>`);
      parts.push(...whisker(x + (barW - 2) / 2, s.spread?.[i], axis));
      parts.push(text(x + barW / 2, Math.min(y, axis.y(s.spread?.[i]?.[1] ?? v)) - 4, formatValue(v), 'text-anchor="middle" font-size="10"'));
    });
  });
  parts.push(`<line x1="${LEFT}" y1="${base.toFixed(1)}" x2="${WIDTH - RIGHT}" y2="${base.toFixed(1)}" stroke="black"/>`);
  parts.push(...categoryLabels(c, (i) => LEFT + (i + 0.5) * groupW), '</svg>');
  return `${parts.join('\n')}\n`;
}

/** One line per series across the categories (evenly spaced); a gap where not measured. */
export function lineChart(c: Chart): string {
  const { parts, axis } = frame(c);
  const stepX = (WIDTH - LEFT - RIGHT) / c.categories.length;
  const xAt = (i: number) => LEFT + (i + 0.5) * stepX;
  c.series.forEach((s, k) => {
    const points = s.values.map((v, i) => (v === undefined ? undefined : { x: xAt(i), y: axis.y(v), v, spread: s.spread?.[i] }));
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1) parts.push(`<polyline points="${run.join(' ')}" fill="none" stroke="${colour(s.name, k)}" stroke-width="2"/>`);
      run = [];
    };
    for (const p of points) {
      if (!p) {
        flush();
        continue;
      }
      run.push(`${p.x.toFixed(1)},${p.y.toFixed(1)}`);
      parts.push(...whisker(p.x, p.spread, axis));
      parts.push(`<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="3.5" fill="${colour(s.name, k)}"><title>${escapeXml(`${s.name}: ${formatValue(p.v)}`)}</title></circle>`);
      parts.push(text(p.x + 6, p.y - 6, formatValue(p.v), 'font-size="10"'));
    }
    flush();
  });
  const base = baseY(axis);
  parts.push(`<line x1="${LEFT}" y1="${base.toFixed(1)}" x2="${WIDTH - RIGHT}" y2="${base.toFixed(1)}" stroke="black"/>`);
  parts.push(...categoryLabels(c, xAt), '</svg>');
  return `${parts.join('\n')}\n`;
}
