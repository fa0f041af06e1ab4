// V8's old-generation headroom over the live heap, by the agent's phase.
// bin/kpr starts node with --heap-growing-percent=50: a cold start allocates
// the whole state (every object listed, every map entry written), and less
// room there costs many more full collections (at 100k services collection
// is already the largest step of a start). Once ready, a sync changes a
// little of a state that stays, and the next collection may come sooner: a
// standalone agent at 10k services with 5 changes/s peaked at 222 MB
// resident with 25% instead of 231-232 MB (measured).
import * as v8 from 'v8';

export const STEADY_HEAP_GROWING_PERCENT = 20;

/** Lowers the headroom for the rest of the agent's life. V8 reads the flag
 *  whenever it sets the next collection's limit (Node leaves V8's flags
 *  writable for v8.setFlagsFromString). */
export function steadyHeapHeadroom(): void {
  v8.setFlagsFromString(`--heap-growing-percent=${STEADY_HEAP_GROWING_PERCENT}`);
}
