// The layering of lib/ (README, Layout): no import circles; no datapath file
// imports the CLI or the agent's sources; host and model, below them, import
// none of the layers above. Read from the TypeScript sources' own imports.
import * as fs from 'fs';
import * as path from 'path';
import { repoRoot } from '../../lib/datapath/native';

const LIB = path.join(repoRoot(), 'lib');

/** Each lib file (relative, without .ts) and the lib files it imports. */
function importGraph(): Map<string, string[]> {
  const files = (fs.readdirSync(LIB, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const text = fs.readFileSync(path.join(LIB, `${f}.ts`), 'utf8');
    const targets = [...text.matchAll(/^(?:import|export)\b[^;]*?from '(\.[^']+)'/gms)].map((m) => path.normalize(path.join(path.dirname(f), m[1])));
    graph.set(f, targets);
  }
  return graph;
}

/** The circles found by a depth-first walk, each as the path that closes it. */
function circles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const walk = (f: string, trail: string[]) => {
    const at = trail.indexOf(f);
    if (at >= 0) return found.push([...trail.slice(at), f]);
    if (done.has(f)) return;
    for (const t of graph.get(f) ?? []) walk(t, [...trail, f]);
    done.add(f);
  };
  for (const f of graph.keys()) walk(f, []);
  return found;
}

describe("lib's import graph", () => {
  const graph = importGraph();

  test('reads every file and resolves every relative import to a lib file', () => {
    expect(graph.size).toBeGreaterThan(50);
    const unresolved = [...graph].flatMap(([f, ts]) => ts.filter((t) => !graph.has(t)).map((t) => `${f} -> ${t}`));
    expect(unresolved).toEqual([]);
  });

  test('has no import circles', () => {
    expect(circles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  test('finds a circle when there is one', () => {
    const g = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    expect(circles(g)).toEqual([['a', 'b', 'c', 'a']]);
  });

  test.each([
    ['datapath', ['cli/', 'sources/', 'agent']],
    ['host', ['cli/', 'sync/', 'sources/', 'datapath/', 'agent']],
    ['model', ['cli/', 'sync/', 'sources/', 'datapath/', 'host/', 'agent']],
  ])('lib/%s imports none of %j', (layer, banned) => {
    const wrong = [...graph]
      .filter(([f]) => f.startsWith(`${layer}/`))
      .flatMap(([f, ts]) => ts.filter((t) => banned.some((b) => t.startsWith(b) || t === b)).map((t) => `${f} -> ${t}`));
    expect(wrong).toEqual([]);
  });
});
