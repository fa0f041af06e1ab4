import * as fs from 'fs';
import { TestCgroup } from './cgroup';
import { EdgeTopology } from './edge_topology';
import { EchoServer } from './servers';

/** What an edge test started in its beforeAll; any part may be missing when that failed halfway. */
export interface EdgeTestParts {
  agents?: { stop(): Promise<void> }[];
  servers: EchoServer[];
  topo?: EdgeTopology;
  clientCgroup?: TestCgroup;
  /** Folders of the test's own: manifests, reports. */
  dirs?: (string | undefined)[];
}

/** Agents go first, while their devices still exist to detach from; the
 *  namespaces only after the servers inside them have stopped. */
export async function tearDownEdgeTest(parts: EdgeTestParts): Promise<void> {
  await Promise.all((parts.agents ?? []).map((a) => a.stop()));
  await Promise.all(parts.servers.map((s) => s.stop()));
  parts.topo?.destroy();
  parts.clientCgroup?.destroy();
  for (const d of parts.dirs ?? []) if (d) fs.rmSync(d, { recursive: true, force: true });
}
