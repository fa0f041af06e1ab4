// Where an agent's CPU went, from a V8 .cpuprofile (control_plane_cpu_prof.ts
// writes them): each sample is charged to the kpr source file nearest the
// top of its stack (dist/lib/<dir>/<file>.js, named as lib/<dir>/<file>.ts),
// so the time of a native call, a parse or a collection is charged to the
// step of kpr that asked for it. Samples with no kpr frame go to what V8
// calls them ((garbage collector), (program), ...); (idle) is left out.
import * as fs from 'fs';

interface ProfileNode {
  id: number;
  callFrame: { url: string; functionName: string };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** Microseconds from the previous sample (the first: from startTime). */
  timeDeltas: number[];
}

const KPR_FILE = /\/dist\/(lib\/.+)\.js$/;

/** Milliseconds of CPU by step (kpr source file, or V8's own name), largest first. */
export function stepsOf(profile: CpuProfile): [step: string, ms: number][] {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const stepOf = new Map<number, string>();
  const step = (id: number): string => {
    const known = stepOf.get(id);
    if (known !== undefined) return known;
    let s: string | undefined;
    for (let at: number | undefined = id; at !== undefined && s === undefined; at = parent.get(at)) {
      const m = KPR_FILE.exec((byId.get(at) as ProfileNode).callFrame.url);
      if (m) s = `${m[1]}.ts`;
    }
    const own = (byId.get(id) as ProfileNode).callFrame.functionName;
    const result = s ?? (own.startsWith('(') ? own : '(node and its modules)');
    stepOf.set(id, result);
    return result;
  };
  const ms = new Map<string, number>();
  profile.samples.forEach((id, k) => {
    // A sample's time is the gap to the next one.
    const us = profile.timeDeltas[k + 1] ?? 0;
    const s = step(id);
    if (s !== '(idle)') ms.set(s, (ms.get(s) ?? 0) + us / 1000);
  });
  return [...ms.entries()].sort((a, b) => b[1] - a[1]);
}

export function readProfileSteps(file: string): [string, number][] {
  return stepsOf(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile);
}
