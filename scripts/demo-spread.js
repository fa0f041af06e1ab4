#!/usr/bin/env node
// usage: demo-spread.js REPORT.json...
// Prints how the requests of client.js reports spread over the backends, one
// column per report, and exits 1 if any request failed or was not made.
'use strict';

const fs = require('fs');

const reports = process.argv.slice(2).map((file) => JSON.parse(fs.readFileSync(file, 'utf8')));
const backends = [...new Set(reports.flatMap((r) => Object.keys(r.backends)))].sort();
const failures = reports.map((r) => r.count - Object.values(r.backends).reduce((a, b) => a + b, 0));
const COL = 24;

const cell = (n, total) => `${String(n).padStart(5)}  ${((100 * n) / total).toFixed(1).padStart(5)}%`.padEnd(COL);
const row = (label, cells) => console.log(`${label.padEnd(10)}${cells.join('')}`);

row('backend', reports.map((r) => (r.addr.includes(':') ? `[${r.addr}]:${r.port}` : `${r.addr}:${r.port}`).padEnd(COL)));
for (const b of backends) row(b, reports.map((r) => cell(r.backends[b] ?? 0, r.count)));
row('failed', reports.map((r, i) => cell(failures[i], r.count)));
for (const r of reports) {
  for (const [code, n] of Object.entries(r.errors)) console.log(`  ${r.addr}: ${n} x ${code}`);
}
process.exit(failures.some((n) => n > 0) ? 1 : 0);
