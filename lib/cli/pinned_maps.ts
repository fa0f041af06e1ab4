// How the commands that read the agent's pinned maps find them: the map
// directory under --bpf-root, the socket LB's maps, and the edge LB's maps
// when the agent runs one. Each is closed once read.
import * as fs from 'fs';
import * as path from 'path';
import { EdgeReaders, loadAddon, SocketMaps } from '../datapath/native';
import { pinPaths } from '../host/bpffs';

/** The agent's map directory under bpfRoot; throws when no agent has made one. */
export function pinnedMapDir(bpfRoot: string): string {
  const { maps: mapDir } = pinPaths(bpfRoot);
  if (!fs.existsSync(mapDir) || fs.readdirSync(mapDir).length === 0) {
    throw new Error(`no kpr state under ${bpfRoot}: is the agent running with --bpf-root ${bpfRoot}?`);
  }
  return mapDir;
}

/** fn over the edge LB's pinned maps; undefined when the agent runs without one. */
export function withEdgeMaps<T>(mapDir: string, fn: (maps: EdgeReaders) => T): T | undefined {
  if (!fs.existsSync(path.join(mapDir, 'kpr_edge_frontends'))) return undefined;
  const maps = loadAddon().openPinnedEdgeMaps(mapDir);
  try {
    return fn(maps);
  } finally {
    maps.close();
  }
}

/** fn over the socket LB's pinned maps. */
export function withSocketMaps<T>(mapDir: string, fn: (maps: SocketMaps) => T): T {
  const maps = loadAddon().openPinnedSocketMaps(mapDir);
  try {
    return fn(maps);
  } finally {
    maps.close();
  }
}
