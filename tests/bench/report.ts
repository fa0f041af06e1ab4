// `make bench-report` (and the end of `make bench`): BENCHMARKS.md at the repo
// root and its SVG plots under benchmarks/, from every result file in
// benchmarks/results/ (report_render.ts decides what they say). Plots of an
// earlier run that this one no longer draws are removed.
import * as fs from 'fs';
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';
import { readResults, resultsDir } from './bench_result';
import { renderReport } from './report_render';

function main(): void {
  const root = repoRoot();
  const results = readResults(resultsDir());
  const report = renderReport(results);
  const plots = path.join(root, 'benchmarks');
  fs.mkdirSync(plots, { recursive: true });
  for (const f of fs.readdirSync(plots).filter((f) => f.endsWith('.svg'))) fs.rmSync(path.join(plots, f));
  for (const c of report.charts) fs.writeFileSync(path.join(root, c.file), c.svg);
  fs.writeFileSync(path.join(root, 'BENCHMARKS.md'), report.markdown);
  console.log(`BENCHMARKS.md from ${results.length} result files (${results.map((r) => r.bench).join(', ') || 'none'}), ${report.charts.length} plots in benchmarks/`);
}

try {
  main();
} catch (e) {
  console.error(`bench report: ${(e as Error).message}`);
  process.exit(1);
}
