// The JavaScript surface of the native addon (native/kpr_addon.cc). The addon
// owns map packing (bpf/include/kpr_types.h); this file only types it and
// finds the built binary.
import * as path from 'path';

export type Proto = 'TCP' | 'UDP' | 'SCTP';

/** A frontend: service address, port and protocol. The family follows from addr. */
export interface FrontendKey {
  addr: string;
  port: number;
  proto: Proto;
}

export interface ServiceSlotKey extends FrontendKey {
  /** 0 = master entry (count, flags); 1..count = backend slots. */
  slot: number;
}

export interface ServiceSlot extends ServiceSlotKey {
  svcId: number;
  /** Slots > 0: the backend in this slot. 0 on the master. */
  backendId: number;
  /** Master: number of active backends. */
  count: number;
  /** Master: ClientIP affinity timeout in seconds; 0 = no affinity. */
  affinityTimeout: number;
}

export interface Backend {
  id: number;
  addr: string;
  port: number;
  /** The frontend that owns this backend id; the datapath honours a client's
   *  affinity entry only for a backend of the same service. */
  svcId: number;
}

export interface SocketTarget {
  addr: string;
  port: number;
}

export interface ServiceStats {
  svcId: number;
  translations: number;
}

export interface AttachResult {
  prog: string;
  action: 'created' | 'replaced';
}

/** Map writes and reads; what the datapath plan needs. */
export interface DatapathMaps {
  updateBackends(backends: Backend[]): void;
  deleteBackends(ids: number[]): void;
  updateServices(slots: ServiceSlot[]): void;
  deleteServices(keys: ServiceSlotKey[]): void;
  dumpServices(): ServiceSlot[];
  dumpBackends(): Backend[];
  readServiceStats(): ServiceStats[];
  /** Per-reason reject/drop counters, index = reason (lib/datapath/reasons.ts). */
  readDrops(): number[];
  close(): void;
}

export interface Datapath extends DatapathMaps {
  /** Attach every cgroup program to cgroupPath through links pinned in linkDir;
   *  a pinned link is re-used and its program replaced atomically. */
  attachCgroup(cgroupPath: string, linkDir: string): AttachResult[];
  /** Destroy connected UDP sockets whose peer is one of targets, in each
   *  network namespace (paths like /proc/PID/ns/net). Returns how many. */
  destroyUdpSockets(targets: SocketTarget[], netnsPaths: string[]): number;
}

export interface OpenOptions {
  /** Path of the compiled sock_lb.o. */
  objectPath: string;
  /** Where maps are pinned (<bpf-root>/kpr/maps); created if missing. */
  mapDir: string;
  /** Capacity of the service, backend and affinity maps. */
  lbMapMax: number;
  /** Capacity of the socket reverse-NAT map. */
  revNatMapMax: number;
}

interface Addon {
  openDatapath(opts: OpenOptions): Datapath;
  /** Open already pinned maps without loading programs (CLI while no agent runs). */
  openPinnedMaps(mapDir: string): DatapathMaps;
}

let addon: Addon | undefined;

export function loadAddon(): Addon {
  if (!addon) {
    // dist/lib/datapath -> repository root
    const root = path.resolve(__dirname, '..', '..', '..');
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    addon = require(path.join(root, 'native', 'build', 'Release', 'kpr.node')) as Addon;
  }
  return addon;
}

export function repoRoot(): string {
  return path.resolve(__dirname, '..', '..', '..');
}
