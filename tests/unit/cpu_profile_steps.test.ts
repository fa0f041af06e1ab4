// The growth benchmark's charge of a V8 CPU profile to kpr's steps
// (tests/bench/cpu_profile_steps.ts): each sample goes to the kpr source file
// nearest the top of its stack, whatever native or library code runs above it.
import { stepsOf } from '../bench/cpu_profile_steps';

const frame = (url: string, functionName = 'f') => ({ url, functionName });

// root -> agent (kpr) -> parse (kpr) -> yaml (library); root -> (garbage collector); root -> (idle)
const profile = {
  nodes: [
    { id: 1, callFrame: frame('', '(root)'), children: [2, 5, 6] },
    { id: 2, callFrame: frame('file:///repo/dist/lib/agent.js'), children: [3] },
    { id: 3, callFrame: frame('file:///repo/dist/lib/sources/manifest_parse.js'), children: [4] },
    { id: 4, callFrame: frame('file:///repo/node_modules/js-yaml/index.js') },
    { id: 5, callFrame: frame('', '(garbage collector)') },
    { id: 6, callFrame: frame('', '(idle)') },
  ],
  // Each sample's time is the next delta (us).
  samples: [4, 3, 2, 5, 6, 4],
  timeDeltas: [0, 1000, 2000, 500, 250, 4000],
};

test('samples go to the nearest kpr file below them; V8 own names stay; idle is left out; largest first', () => {
  expect(stepsOf(profile)).toEqual([
    ['lib/sources/manifest_parse.ts', 3],
    ['lib/agent.ts', 0.5],
    ['(garbage collector)', 0.25],
  ]);
});

test('a sample with no kpr frame and no V8 name is node and its modules', () => {
  const p = { nodes: [{ id: 1, callFrame: frame('', '(root)'), children: [2] }, { id: 2, callFrame: frame('node:fs', 'readFileSync') }], samples: [2, 2], timeDeltas: [0, 700] };
  expect(stepsOf(p)).toEqual([['(node and its modules)', 0.7]]);
});
