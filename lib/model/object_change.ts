// What a sync hands the model of one object: its version the last sync saw
// and its version now (sync/change_tracker.ts makes them).

/** was: what the last sync saw; now: what this one is to see; absent:
 *  there was none, or there is none. */
export interface Change<T> {
  key: string;
  was?: T;
  now?: T;
}
