// helm and kubeconform at the versions pinned in chart-tools.env, built by
// `make chart-tools` (scripts/build-tools.sh) into
// ${KPR_CACHE:-~/.cache/kpr}/tools/<name>/<version>/<name>.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { kprCacheDir, readVersionsFile, REPO_ROOT } from './cluster';

const TOOLS_FILE = path.join(REPO_ROOT, 'tests', 'e2e', 'chart-tools.env');
const VERSION_KEYS = { helm: 'HELM_VERSION', kubeconform: 'KUBECONFORM_VERSION' } as const;

export type ChartTool = keyof typeof VERSION_KEYS;

/** Path of a built tool; throws saying to run `make chart-tools` when it is missing. */
export function chartTool(name: ChartTool): string {
  const version = readVersionsFile(TOOLS_FILE)[VERSION_KEYS[name]];
  if (!version) throw new Error(`${TOOLS_FILE}: no ${VERSION_KEYS[name]}`);
  const file = path.join(kprCacheDir(), 'tools', name, version, name);
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    throw new Error(`${file} is missing: run \`make chart-tools\` (builds ${name} ${version}, pinned in tests/e2e/chart-tools.env)`);
  }
  return file;
}

export interface ToolResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion; never throws on a non-zero exit, which tests assert on. */
export function runTool(name: ChartTool, args: string[], timeoutMs = 60_000): ToolResult {
  const r = spawnSync(chartTool(name), args, { encoding: 'utf8', timeout: timeoutMs });
  if (r.error) throw new Error(`${name} ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
