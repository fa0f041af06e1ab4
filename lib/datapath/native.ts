// The JavaScript surface of the native addon (native/src/js/). The addon
// owns map packing (bpf/include/kpr_sock_types.h, kpr_edge_types.h); this file only types it and
// finds the built binary.
import * as path from 'path';
import type { NetnsReading } from '../host/pod_netns';
import type { EdgeScope } from '../model/frontend';
import type { ForwardingMode } from '../model/forwarding_mode';
import type { ConntrackHandover } from '../host/cleanup';
import type { PortRange } from '../host/local_port_range';
import type { LbAlgorithm } from '../model/lb_algorithm';
import type { Protocol } from '../model/protocol';

/** A frontend: service address, port and protocol. The family follows from addr. */
export interface FrontendKey {
  addr: string;
  port: number;
  proto: Protocol;
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

/** A pinned map the load found at another capacity or in an older layout, re-made with its entries. */
export interface MapMigration {
  map: string;
  fromEntries: number;
  toEntries: number;
  /** Entries carried over (non-zero ones, for arrays). */
  copied: number;
  /** The older layout its entries were converted from, if any (native/src/map_layouts.cc). */
  fromLayout?: string;
}

/** What a load that adopts pinned maps did to them. */
export interface MigratedMaps {
  migrations(): MapMigration[];
  /** Once the new programs are attached: copies the entries the old
   *  programs added since the load, and lets the old maps go. Returns how
   *  many; later calls do nothing. */
  settleMigratedMaps(): number;
}

/** Digests of what a socket LB's maps hold ("entries:lane:lane" in hex),
 *  "foreign" for a map holding an entry the addon never writes. */
export interface MapDigests {
  services: string;
  backends: string;
}

/** Map writes and reads; what the datapath plan needs. */
export interface SocketMaps {
  updateBackends(backends: Backend[]): void;
  deleteBackends(ids: number[]): void;
  updateServices(slots: ServiceSlot[]): void;
  deleteServices(keys: ServiceSlotKey[]): void;
  /** What kpr_services and kpr_backends hold, digested as
   *  socket/map_digest.ts digests a state: a full sync's check, which
   *  copies nothing out of the maps. */
  mapDigests(): MapDigests;
  /** The same, the maps walked on another thread while the event loop goes
   *  on: writes made meanwhile may or may not be seen. */
  mapDigestsLater(): Promise<MapDigests>;
  dumpServices(): ServiceSlot[];
  dumpBackends(): Backend[];
  readServiceStats(): ServiceStats[];
  /** Per-reason reject/drop counters, index = reason (lib/datapath/reasons.ts). */
  readDrops(): number[];
  close(): void;
}

/** The kernel's id of each program of the loaded objects, by program name. */
export type ProgramIds = Record<string, number>;

export interface SocketDatapath extends SocketMaps, MigratedMaps {
  /** Attach every cgroup program to cgroupPath through links pinned in linkDir;
   *  a pinned link is re-used and its program replaced atomically. */
  attachCgroup(cgroupPath: string, linkDir: string): AttachResult[];
  /** The same for one of them: its link is re-made when it was unpinned or
   *  detached, its program put back when another took its place. */
  attachCgroupProgram(name: string, cgroupPath: string, linkDir: string): AttachResult;
  programIds(): ProgramIds;
  /** The instructions the kernel's verifier walked for each program, by name (it refuses a program past 1M). */
  verifiedInsns(): Record<string, number>;
  /** Destroy connected UDP sockets whose peer is one of targets, in each
   *  network namespace (paths like /proc/PID/ns/net). Returns how many. */
  destroyUdpSockets(targets: SocketTarget[], netnsPaths: string[]): number;
  /** The network namespaces (by cookie, a decimal string) whose connections
   *  the socket LB leaves alone (kpr_sock_bypass): made exactly these. */
  replaceBypass(cookies: string[]): void;
  dumpBypass(): string[];
  /** The node's network namespace by cookie: the one where loopback
   *  frontends (localhost NodePorts) are served (kpr_sock_node_netns); with
   *  only (--bpf-lb-sock-hostns-only, kpr_sock_hostns) the one the socket LB
   *  translates in at all. */
  setNodeNetns(cookie: string, only: boolean): void;
  /** The service CIDRs and ClusterIPs (canonical "addr/len") whose
   *  unserved ports are refused (kpr_sock_service_ranges): made exactly
   *  these, whatever the map held (read back each time). */
  replaceServiceRanges(cidrs: string[]): void;
  /** What kpr_sock_service_ranges holds, digested as socket/map_digest.ts
   *  digests a list of CIDRs, the map walked on another thread. */
  serviceRangesDigestLater(): Promise<{ ranges: string }>;
}

export interface SocketOpenOptions {
  /** Path of the compiled sock_lb.o. */
  objectPath: string;
  /** Where maps are pinned (<bpf-root>/kpr/maps); created if missing. */
  mapDir: string;
  /** Capacity of the service, backend and affinity maps. */
  lbMapMax: number;
  /** Capacity of the socket reverse-NAT map. */
  revNatMapMax: number;
}

/** A NodePort / LoadBalancer IP / ExternalIP as the edge LB sees it. */
export interface EdgeFrontendKey extends FrontendKey {
  scope?: EdgeScope;
}

export interface EdgeFrontend extends EdgeFrontendKey {
  svcId: number;
  /** Backends in the service's Maglev table; 0 = none (noBackend applies). */
  count: number;
  /** ClientIP affinity timeout in seconds; 0 = no affinity. */
  affinityTimeout: number;
  /** Only clients in the service's source ranges are let in. */
  sourceRanges: boolean;
  mode: ForwardingMode;
  algorithm: LbAlgorithm;
  /** A frontend without backends answers TCP with a RST ('reject') or drops. */
  noBackend: 'reject' | 'drop';
}

export interface EdgeBackend {
  id: number;
  addr: string;
  port: number;
  svcId: number;
  /** Address of the node hosting it (same family as addr); absent = this node. */
  nodeAddr?: string;
}

/** Seconds a flow's state lives once idle, by what its packets showed
 *  (bpf/include/kpr_flow_lifetime.h); every one at least 1. */
export interface FlowTimeouts {
  tcpEstablished: number;
  tcpSyn: number;
  tcpFin: number;
  tcpClose: number;
  udp: number;
  udpStream: number;
}

export type { PortRange } from '../host/local_port_range';

export interface EdgeConfig {
  /** This node's addresses, the outer source of DSR tunnels; absent = none. */
  nodeAddr4?: string;
  nodeAddr6?: string;
  hashSeed: number;
  timeouts: FlowTimeouts;
  /** The source ports of snat flows: one or two ranges (bpf/include/kpr_edge_snat.h). */
  snatPorts: PortRange[];
}

export interface SourceRange {
  svcId: number;
  cidr: string;
}

export interface EdgeStats {
  svcId: number;
  packets: number;
  bytes: number;
}

export interface ProgTestRunOptions {
  /** Network namespace to run in (e.g. /run/netns/NAME): its FIB serves the program. */
  netns?: string;
  /** Ingress device (in that namespace); default its loopback. */
  ifindex?: number;
}

export interface ProgTestRunResult {
  /** The program's return value (an XDP action). */
  retval: number;
  /** The packet as the program left it. */
  packet: Buffer;
  /** Average run time per repetition, as the kernel measured it. */
  durationNs: number;
}

/** The edge LB's map writes and reads; what the edge plan needs. */
export interface EdgeMaps extends Pick<EdgeReaders, 'dumpFrontends' | 'dumpBackends' | 'dumpSourceRanges' | 'dumpMaglevTableIds'> {
  updateFrontends(frontends: EdgeFrontend[]): void;
  deleteFrontends(keys: EdgeFrontendKey[]): void;
  updateBackends(backends: EdgeBackend[]): void;
  deleteBackends(ids: number[]): void;
  /** Swaps in a whole new Maglev table: exactly maglevTableSize backend ids. */
  setMaglevTable(svcId: number, backendIds: number[]): void;
  updateSourceRanges(ranges: SourceRange[]): void;
  /** Deletes (svcId, cidr) entries; absent ones are no error. */
  deleteSourceRanges(ranges: SourceRange[]): void;
  /** Deletes the services' Maglev tables; absent ones are no error. */
  deleteMaglevTables(svcIds: number[]): void;
}

export type XdpAttachMode = 'native' | 'generic' | 'auto';

export interface XdpAttachResult {
  /** With 'auto': native where the driver supports it, else generic. */
  mode: 'native' | 'generic';
  action: AttachResult['action'];
}

/** A flow table entry: a client's connection to an edge service, and its backend. */
export interface EdgeFlow {
  client: string;
  clientPort: number;
  proto: Protocol;
  svcId: number;
  backendId: number;
  /** KPR_CT_* bits as the client's packets showed them (edge/flow_state.ts names them). */
  state: number;
  /** Seconds since the flow's last packet, by the datapath clock. */
  idleSeconds: number;
}

/** What a loaded edge LB and its pinned maps alone can both be asked. */
export interface EdgeReaders {
  /** Every frontend, flags unpacked as updateFrontends takes them. */
  dumpFrontends(): EdgeFrontend[];
  /** Every backend id in use. */
  dumpBackends(): EdgeBackend[];
  /** Every source range, CIDRs canonical ("198.18.0.0/15"). */
  dumpSourceRanges(): SourceRange[];
  /** The service ids that have a Maglev table. */
  dumpMaglevTableIds(): number[];
  /** A service's programmed table: M backend ids; empty when it has none. */
  readMaglevTable(svcId: number): number[];
  /** Every flow the edge LB pinned to a backend (both families). */
  dumpFlows(): EdgeFlow[];
  /** kpr_xdp_config as the agent wrote it; maglevTableSize 0: never written. */
  readConfig(): EdgeConfig & { maglevTableSize: number };
  /** Per-reason drop counters, index = reason (EDGE_DROP_REASONS). */
  readDrops(): number[];
  readStats(): EdgeStats[];
  /** Packets whose flow had no entry in the flow table (kpr_edge_flow_misses). */
  readFlowMisses(): number;
  close(): void;
}

export interface EdgeDatapath extends EdgeMaps, EdgeReaders, MigratedMaps {
  setConfig(cfg: EdgeConfig): void;
  /** BPF_PROG_TEST_RUN of one of the objects' programs on packet. */
  progTestRun(progName: string, packet: Buffer, repeat: number, opts?: ProgTestRunOptions): ProgTestRunResult;
  /** progTestRun of each packet once, in order, in one call (fuzzing). */
  progTestRunBatch(progName: string, packets: Buffer[], opts?: ProgTestRunOptions): ProgTestRunResult[];
  /** Attaches kpr_xdp_lb to a device of the caller's network namespace;
   *  'auto' takes native where the driver can, else generic. A program
   *  already there (kpr's or not) is replaced atomically. The attachment
   *  belongs to the device: it outlives the agent. */
  attachXdp(ifname: string, mode: XdpAttachMode): XdpAttachResult;
  /** Attaches tc_dsr.c to kpr's slot (handle 1, priority 1) of the
   *  device's tc ingress and egress (clsact), or of one of them. */
  attachTc(ifname: string, direction?: TcDirection): { action: AttachResult['action'] };
  /** The same slots of an interface towards pods: kpr_tc_pod_ingress (the
   *  per-packet path) and kpr_tc_dsr_egress (its replies). */
  attachPodTc(ifname: string, direction?: TcDirection): { action: AttachResult['action'] };
  programIds(): ProgramIds;
  /** The instructions the kernel's verifier walked for each program, by name (it refuses a program past 1M). */
  verifiedInsns(): Record<string, number>;
}

export type TcDirection = 'ingress' | 'egress';

/** A bpf_link pinned under the agent's link directory. */
export interface PinnedLink {
  /** The pin's name: the program's full name. */
  name: string;
  /** The kernel's name of its program (15 characters at most). */
  program: string;
  progId: number;
  attachType: string;
  /** 0: detached from its cgroup. */
  cgroupId: number;
}

/** What a device carries: its XDP program and kpr's tc slots, each by the
 *  kernel's name of the program and its id; absent: nothing there. */
export interface DeviceAttachment {
  device: string;
  xdp?: string;
  xdpId?: number;
  xdpMode?: 'native' | 'generic' | 'offload';
  tcIngress?: string;
  tcIngressId?: number;
  tcEgress?: string;
  tcEgressId?: number;
}

export type Hook = 'cgroup' | 'xdp' | 'tc_ingress' | 'tc_egress';

/** A program the agent wants on a hook; pinned as kpr_attachments for `kpr status`. */
export interface WantedAttachment {
  /** The program's full name, e.g. kpr_tc_dsr_ingress. */
  program: string;
  hook: Hook;
  /** The device of the xdp and tc hooks. */
  device?: string;
  /** cgroup: the cgroup's id; xdp and tc: the inode of the agent's network namespace. */
  scope: number;
  /** The id of the program the agent attached. */
  progId: number;
}

/** Where the programs are, as the agent's check reads it. */
export interface AttachmentView {
  links: PinnedLink[];
  devices: DeviceAttachment[];
}

export interface EdgeOpenOptions {
  /** Path of the compiled xdp_lb.o. */
  objectPath: string;
  /** Path of the compiled tc_dsr.o, which shares xdp_lb.o's maps. */
  tcObjectPath: string;
  /** Where maps are pinned; created if missing. */
  mapDir: string;
  frontendMax: number;
  backendMax: number;
  /** Capacity of the flow table, and of the reverse NAT table of replies. */
  flowMax: number;
  affinityMax: number;
  sourceRangeMax: number;
  snatMax: number;
  /** Capacity of kpr_edge_fragments: datagrams whose fragments are under way at once. */
  fragmentMax: number;
  /** M, the size of every Maglev table (Cilium: --bpf-lb-maglev-table-size). */
  maglevTableSize: number;
}

/** One forwarding decision of the edge LB (bpf/include/kpr_edge_trace.h). */
export interface TraceEvent {
  /** bpf_ktime_get_coarse_ns() when the packet arrived. */
  tsNs: number;
  client: string;
  clientPort: number;
  frontend: string;
  frontendPort: number;
  proto: Protocol;
  svcId: number;
  /** Absent: no backend was chosen. */
  backendId?: number;
  backend?: string;
  backendPort?: number;
  /** XDP action; enum kpr_pick; enum kpr_path; enum kpr_xdp_reason (edge/trace.ts names them). */
  action: number;
  pick: number;
  path: number;
  dropReason: number;
}

export interface TraceFilter {
  /** An address alone: any of its ports and protocols. */
  frontend?: FrontendKey | { addr: string };
  client?: string;
  /** Tracing stops by itself this long after the last start or renew. */
  leaseMs: number;
}

/** `kpr trace`'s handle on the pinned trace maps. */
export interface EdgeTrace {
  start(filter: TraceFilter): void;
  renew(leaseMs: number): void;
  stop(): void;
  /** The decisions recorded since the last poll, waiting up to timeoutMs for one. */
  poll(timeoutMs: number): TraceEvent[];
  /** Decisions the ring buffer had no room for. */
  lost(): number;
  close(): void;
}

/** One step of the per-flow state collector over one map (native/src/flow_gc.h). */
export interface FlowGcReport {
  map: string;
  visited: number;
  deleted: number;
  /** This step finished a pass over the map. */
  passDone: boolean;
  /** Entries left by the last finished pass; absent before the first. */
  live?: number;
}

export interface FlowGc {
  /** Visits up to budget entries of each map, deleting those whose flow is over. */
  step(budget: number): FlowGcReport[];
  close(): void;
}

export interface MaglevInput {
  /** Canonical "addr:port" names (formatAddrPort); duplicates are dropped. */
  backends: string[];
  /** A prime from MAGLEV_MIN_TABLE_SIZE to MAGLEV_MAX_TABLE_SIZE, such as 16381, 65521, 65537 or 131071. */
  size: number;
  /** Unsigned 32-bit. */
  seed: number;
}

/** A backend's preference over the slots: its j-th choice is (offset + j * skip) mod size. */
export interface MaglevPermutation {
  offset: number;
  skip: number;
}

/** What `kpr status` reads of the kernel. */
export interface KernelStatus {
  maps: { name: string; type: string; maxEntries: number; entries?: number }[];
  links: PinnedLink[];
  /** Those that carry a program, and those the agent wants whatever they carry. */
  devices: DeviceAttachment[];
  /** Where the agent wants its programs (kpr_attachments); empty: none recorded. */
  wanted: WantedAttachment[];
}

interface Addon {
  /** order: indexes into input.backends, one per distinct name, in bytewise
   *  order of the names; the names themselves are not sent back, as making
   *  1000 JS strings would cost more than a tenth of the table build. */
  computeMaglev(input: MaglevInput): { order: Uint32Array; table: Uint32Array; digest: string };
  /** The paper's table-filling step alone, over given permutations; size may
   *  be any prime up to 131071, so that the paper's own example can be run. */
  computeMaglevFromPermutations(input: { size: number; permutations: MaglevPermutation[] }): Uint32Array;
  openSocketDatapath(opts: SocketOpenOptions): SocketDatapath;
  /** Each network namespace's cookie and addresses, or why it could not be read. */
  netnsInfo(paths: string[]): NetnsReading[];
  /** Open already pinned maps without loading programs (CLI while no agent runs). */
  openPinnedSocketMaps(mapDir: string): SocketMaps;
  /** Load the XDP edge LB with its maps pinned under mapDir. */
  openEdgeDatapath(opts: EdgeOpenOptions): EdgeDatapath;
  /** The pinned maps and links, the programs on this namespace's devices
   *  (and the devices the agent wants, whatever they carry), and where the
   *  agent wants its programs (kpr_attachments). */
  kernelStatus(dirs: { mapDir: string; linkDir: string }): KernelStatus;
  /** The pinned links, and what each of the devices carries (those of this
   *  namespace; absent ones are left out). */
  readAttachments(where: { linkDir: string; devices: string[] }): AttachmentView;
  /** Takes every kpr_* program off this namespace's XDP hooks and kpr's tc slots; what it took, one line each. */
  detachKprFromDevices(): string[];
  /** Writes the edge LB's flows pinned under mapDir into this namespace's conntrack (native/src/conntrack_handover.h). */
  handOverEdgeFlows(mapDir: string): ConntrackHandover;
  /** Replaces the rows of kpr_attachments under mapDir, creating it if need be. */
  writeAttachRecord(mapDir: string, rows: WantedAttachment[]): void;
  /** The edge LB's trace maps, pinned under mapDir. */
  openTrace(mapDir: string): EdgeTrace;
  /** The edge LB's pinned maps, opened by path; nothing is loaded. */
  openPinnedEdgeMaps(mapDir: string): EdgeReaders;
  /** The collector of per-flow state over the maps pinned under mapDir. */
  openFlowGc(mapDir: string): FlowGc;
  /** The digest computeMaglev gives a table: backends sorted and distinct, table indexes into them. */
  maglevDigest(input: { backends: string[]; table: number[]; seed: number }): string;
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
