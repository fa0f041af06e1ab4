// The agent's own account of its latency, read from its /metrics the way
// Prometheus would: a histogram's cumulative buckets, sum and count. The
// benchmark takes the difference of two scrapes, so only its own changes count.
import * as http from 'http';

const SCRAPE_TIMEOUT_MS = 10_000;

export interface Histogram {
  /** Cumulative counts by upper bound (seconds), ascending; the last is +Inf. */
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

export function scrape(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', timeout: SCRAPE_TIMEOUT_MS }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`/metrics: HTTP ${res.statusCode}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`/metrics: no answer after ${SCRAPE_TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}

/** The histogram `name` in Prometheus text, unlabelled or of the one series
 *  with these labels (e.g. 'ip_family="IPv4"', as kube-proxy labels its own);
 *  throws if it is not there. */
export function parseHistogram(text: string, name: string, labels = ''): Histogram {
  const h: Histogram = { buckets: [], sum: NaN, count: NaN };
  const bucket = new RegExp(`^${name}_bucket\\{${labels ? `${labels},` : ''}le="([^"]+)"\\} (\\S+)$`);
  const series = labels ? `{${labels}}` : '';
  for (const line of text.split('\n')) {
    const b = bucket.exec(line);
    if (b) h.buckets.push({ le: b[1] === '+Inf' ? Infinity : Number(b[1]), count: Number(b[2]) });
    else if (line.startsWith(`${name}_sum${series} `)) h.sum = Number(line.split(' ')[1]);
    else if (line.startsWith(`${name}_count${series} `)) h.count = Number(line.split(' ')[1]);
  }
  if (h.buckets.length === 0 || Number.isNaN(h.sum) || Number.isNaN(h.count)) throw new Error(`/metrics: no histogram ${name}`);
  h.buckets.sort((a, b) => a.le - b.le);
  return h;
}

/** What was observed between two scrapes of the same histogram. */
export function histogramDelta(after: Histogram, before: Histogram): Histogram {
  return {
    buckets: after.buckets.map((b, i) => ({ le: b.le, count: b.count - (before.buckets[i]?.count ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/** The upper bound of the bucket holding the p-th percentile: all a
 *  histogram can say without inventing a distribution inside the bucket. */
export function percentileBound(h: Histogram, p: number): number {
  const rank = Math.ceil((p / 100) * h.count);
  return h.buckets.find((b) => b.count >= rank)?.le ?? Infinity;
}

export const mean = (h: Histogram) => (h.count > 0 ? h.sum / h.count : NaN);
