// kpr's own metrics (kpr_*), beside kube-proxy's. Counters come from the
// datapath's per-CPU maps, summed over CPUs by the addon and read when
// Prometheus scrapes (a batched read of each map, no timer). What is
// programmed comes from the reconcilers' last plans: the agent knows what it
// wrote, so no scrape dumps a hash map. Every label takes a bounded set of
// values (datapath, drop reason, map, program and attach point, a few backend
// count ranges); series per service exist only with --metrics-per-service,
// since a cluster's services are unbounded. Where the programs are is read
// from the kernel at each scrape too: a few netlink and bpf queries.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { EdgeState } from '../datapath/edge_programmed';
import { DatapathMaps, EdgeOpenOptions, EdgeReaders, FlowGcReport, OpenOptions } from '../datapath/native';
import { ProgrammedState, entriesOf } from '../datapath/programmed';
import { dropReasonName, DROP_REASONS, XDP_DROP_REASONS } from '../datapath/reasons';
import { formatFrontend } from '../model/frontend';
import type { ProgramPlace } from '../sync/attachment_repair';
import { ipFamily } from '../model/ip_address';

/** Map name -> entries; capacities by the names the maps are pinned under. */
export type MapCounts = Record<string, number>;

export interface SocketLbSource {
  maps: Pick<DatapathMaps, 'readServiceStats' | 'readDrops'>;
  /** The reconciler's last plan; undefined while it has to read the maps again. */
  programmed(): ProgrammedState | undefined;
  capacities: MapCounts;
}

export interface EdgeLbSource {
  maps: Pick<EdgeReaders, 'readStats' | 'readDrops' | 'readFlowMisses'>;
  programmed(): EdgeState | undefined;
  capacities: MapCounts;
}

/** The socket LB's maps as the addon sizes them (native/src/sock_maps.cc). */
export function socketMapCapacities(o: Pick<OpenOptions, 'lbMapMax' | 'revNatMapMax'>): MapCounts {
  return { kpr_services: o.lbMapMax, kpr_backends: o.lbMapMax, kpr_affinity: o.lbMapMax, kpr_revnat: o.revNatMapMax };
}

/** The edge LB's maps as the addon sizes them (native/src/edge_maps.cc). */
export function edgeMapCapacities(o: Omit<EdgeOpenOptions, 'objectPath' | 'tcObjectPath' | 'mapDir' | 'maglevTableSize'>): MapCounts {
  return {
    kpr_edge_frontends: o.frontendMax,
    kpr_edge_backends: o.backendMax,
    kpr_edge_maglev: o.frontendMax,
    kpr_edge_source_ranges: o.sourceRangeMax,
    kpr_edge_flows4: o.flowMax,
    kpr_edge_flows6: o.flowMax,
    kpr_edge_affinity: o.affinityMax,
    kpr_edge_snat: o.snatMax,
    kpr_edge_snat_ports: o.snatMax,
    kpr_edge_revnat: o.flowMax,
    kpr_edge_fragments: o.fragmentMax,
  };
}

/** Entries of the socket LB's hash maps that the agent writes. Its LRU maps
 *  (kpr_affinity, kpr_revnat) are written by the programs, per connection:
 *  the flow collector counts them (flowGcStep). */
export function socketMapEntries(s: ProgrammedState): MapCounts {
  let services = 0;
  for (const f of s.frontends.values()) services += entriesOf(f);
  return { kpr_services: services, kpr_backends: s.backends.size };
}

/** Entries of the edge LB's maps that the agent writes; its flow, affinity,
 *  SNAT and reverse-NAT tables the programs write, and the flow collector
 *  counts (flowGcStep). */
export function edgeMapEntries(s: EdgeState): MapCounts {
  const out = { kpr_edge_frontends: 0, kpr_edge_backends: 0, kpr_edge_maglev: 0, kpr_edge_source_ranges: 0 };
  for (const svc of s.services.values()) {
    out.kpr_edge_frontends += svc.frontends.size;
    out.kpr_edge_backends += svc.backends.size;
    out.kpr_edge_maglev += svc.tableExists ? 1 : 0;
    out.kpr_edge_source_ranges += svc.ranges.size;
  }
  return out;
}

/** The widest range of backends per frontend that gets a value of its own. */
const MAX_BACKENDS_RANGE = 1024;

/** A backend count's range, the label of kpr_frontends_by_backends: "0",
 *  "1", "2-3", "4-7" ... "512-1023", "1024+". Powers of two keep the label's
 *  values few whatever the services. */
export function backendsRange(n: number): string {
  if (n <= 1) return String(n);
  if (n >= MAX_BACKENDS_RANGE) return `${MAX_BACKENDS_RANGE}+`;
  const low = 2 ** Math.floor(Math.log2(n));
  return `${low}-${2 * low - 1}`;
}

/** Every value backendsRange gives, in order. */
export function backendsRanges(): string[] {
  const out = ['0', '1'];
  for (let low = 2; low < MAX_BACKENDS_RANGE; low *= 2) out.push(backendsRange(low));
  return [...out, backendsRange(MAX_BACKENDS_RANGE)];
}

/** kube-proxy's ServicePortName: "namespace/name:port", "namespace/name" for an unnamed port. */
export function servicePortName(f: { serviceName: string; portName: string }): string {
  return f.portName ? `${f.serviceName}:${f.portName}` : f.serviceName;
}

/** Flow-table hits, which the XDP program does not count (kpr_edge_maps.h):
 *  every packet counted for a frontend looks its flow up unless it was
 *  dropped first for its source range or for having no backend. Counters
 *  read one after the other can make the difference step back by a few
 *  packets; it never goes below the last value, so it stays a counter. */
export function flowHits(packets: number, misses: number, edgeDrops: number[], last: number): number {
  const before = (reason: string) => edgeDrops[XDP_DROP_REASONS.indexOf(reason)] ?? 0;
  return Math.max(last, packets - misses - before('source_range_denied') - before('no_service_backend'));
}

/** 0.1ms, 0.2ms ... 3.3s: a Maglev table of 251 to 131071 entries. */
export const MAGLEV_BUILD_BUCKETS = Array.from({ length: 16 }, (_, i) => 0.0001 * 2 ** i);

type Datapath = 'socket' | 'edge';

export class DatapathMetrics {
  private socket?: SocketLbSource;
  private edge?: EdgeLbSource;
  private lastSocket?: ProgrammedState;
  private lastEdge?: EdgeState;
  private hits = 0;
  private readonly translations: Counter;
  private readonly serviceTranslations?: Counter<'service' | 'frontend'>;
  private readonly edgePackets: Counter;
  private readonly edgeBytes: Counter;
  private readonly servicePackets?: Counter<'service' | 'ip_family'>;
  private readonly serviceBytes?: Counter<'service' | 'ip_family'>;
  private readonly drops: Counter<'datapath' | 'reason'>;
  private readonly flowLookups: Counter<'result'>;
  private readonly frontends: Gauge<'datapath'>;
  private readonly backends: Gauge<'datapath'>;
  private readonly byBackends: Gauge<'datapath' | 'backends'>;
  private readonly mapEntries: Gauge<'map'>;
  private readonly mapCapacity: Gauge<'map'>;
  private readonly gcDeleted: Counter<'map'>;
  private readonly gcPasses: Counter<'map'>;
  private readonly maglevBuilds: Counter;
  private readonly maglevDuration: Histogram;
  private readonly attached: Gauge<'program' | 'attach_point'>;
  private readonly reattachments: Counter<'program' | 'attach_point'>;
  private places?: () => ProgramPlace[] | undefined;
  private readonly pendingCapacity: Gauge<'datapath'>;

  constructor(registry: Registry, perService: boolean) {
    const registers = [registry];
    const counter = <L extends string>(name: string, help: string, labelNames: L[] = []) => new Counter<L>({ name, help, labelNames, registers });
    const gauge = <L extends string>(name: string, help: string, labelNames: L[] = []) => new Gauge<L>({ name, help, labelNames, registers });
    this.translations = counter('kpr_socket_lb_translations_total', 'Connections and datagrams the socket LB translated to a backend');
    this.edgePackets = counter('kpr_edge_lb_packets_total', 'Packets for an edge LB frontend that reached the XDP program');
    this.edgeBytes = counter('kpr_edge_lb_bytes_total', 'Bytes of the packets in kpr_edge_lb_packets_total, from the Ethernet header on');
    if (perService) {
      this.serviceTranslations = counter('kpr_socket_lb_service_translations_total', 'kpr_socket_lb_translations_total per service port and frontend', ['service', 'frontend']);
      this.servicePackets = counter('kpr_edge_lb_service_packets_total', 'kpr_edge_lb_packets_total per service port and IP family', ['service', 'ip_family']);
      this.serviceBytes = counter('kpr_edge_lb_service_bytes_total', 'kpr_edge_lb_bytes_total per service port and IP family', ['service', 'ip_family']);
    }
    this.drops = counter('kpr_drops_total', 'Packets and connections dropped or rejected by the datapath, by reason', ['datapath', 'reason']);
    this.flowLookups = counter('kpr_edge_lb_flow_lookups_total', 'Edge LB flow-table lookups: hit (an established flow keeps its backend) or miss (a backend is chosen)', ['result']);
    this.frontends = gauge('kpr_frontends', 'Frontends programmed', ['datapath']);
    this.backends = gauge('kpr_backends', 'Backend entries programmed', ['datapath']);
    this.byBackends = gauge('kpr_frontends_by_backends', 'Frontends programmed, by their number of backends (a range)', ['datapath', 'backends']);
    this.mapEntries = gauge(
      'kpr_bpf_map_entries',
      "Entries of a BPF map: for the maps the agent writes, what it wrote; for those the programs write per flow, what the flow collector's last pass left",
      ['map'],
    );
    this.gcDeleted = counter('kpr_flow_gc_deleted_total', 'Entries the flow collector deleted because their flow had ended or idled out', ['map']);
    this.gcPasses = counter('kpr_flow_gc_passes_total', 'Passes of the flow collector over a map', ['map']);
    this.mapCapacity = gauge('kpr_bpf_map_capacity', 'Entries a BPF map can hold', ['map']);
    this.maglevBuilds = counter('kpr_maglev_table_builds_total', 'Maglev tables computed for a changed backend set');
    this.maglevDuration = new Histogram({ name: 'kpr_maglev_table_build_duration_seconds', help: 'Time to compute one Maglev table', buckets: MAGLEV_BUILD_BUCKETS, registers });
    this.pendingCapacity = gauge('kpr_frontends_pending_capacity', 'Frontends desired but not programmed because a BPF map is full; retried at every sync', ['datapath']);
    for (const datapath of ['socket', 'edge']) this.pendingCapacity.set({ datapath }, 0);
    this.attached = gauge('kpr_bpf_program_attached', 'A BPF program is on its hook of a cgroup or a device (1) or not (0), read from the kernel at each scrape', ['program', 'attach_point']);
    this.reattachments = counter('kpr_bpf_program_reattachments_total', 'BPF programs a full sync put back on a hook where it found them missing or replaced', ['program', 'attach_point']);
  }

  /** The datapaths to read at each scrape; edge undefined: no edge LB runs. */
  readFrom(socket: SocketLbSource, edge?: EdgeLbSource): void {
    this.socket = socket;
    this.edge = edge;
    for (const [map, n] of Object.entries({ ...socket.capacities, ...edge?.capacities })) this.mapCapacity.set({ map }, n);
  }

  /** A step of the flow collector: what it deleted, and each map's occupancy once a pass is done. */
  flowGcStep(reports: FlowGcReport[]): void {
    for (const r of reports) {
      this.gcDeleted.inc({ map: r.map }, r.deleted);
      if (!r.passDone) continue;
      this.gcPasses.inc({ map: r.map });
      if (r.live !== undefined) this.mapEntries.set({ map: r.map }, r.live);
    }
  }

  maglevBuilt(seconds: number): void {
    this.maglevBuilds.inc();
    this.maglevDuration.observe(seconds);
  }

  /** Frontends the last sync of a datapath left out for lack of room. */
  pendingForCapacity(datapath: Datapath, frontends: number): void {
    this.pendingCapacity.set({ datapath }, frontends);
  }

  /** Where the programs should be, and whether they are; read at each scrape. */
  attachmentsFrom(places: () => ProgramPlace[] | undefined): void {
    this.places = places;
  }

  programReattached(program: string, attachPoint: string): void {
    this.reattachments.inc({ program, attach_point: attachPoint });
  }

  /** Reads the counters, the plans and the hooks; called right before each scrape. */
  collect(): void {
    this.drops.reset();
    if (this.socket) this.collectSocket(this.socket);
    if (this.edge) this.collectEdge(this.edge);
    this.collectAttachments();
  }

  /** A device dropped from the wanted set loses its series; one the kernel
   *  could not be asked about keeps the last reading. */
  private collectAttachments(): void {
    const places = this.places?.();
    if (!places) return;
    this.attached.reset();
    for (const p of places) {
      const labels = { program: p.program, attach_point: p.attachPoint };
      this.attached.set(labels, p.attached ? 1 : 0);
      // Every wanted program has its series from the start, so that increase() sees the first repair.
      this.reattachments.inc(labels, 0);
    }
  }

  private collectSocket(src: SocketLbSource): void {
    const stats = src.maps.readServiceStats();
    setCounter(this.translations, {}, stats.reduce((n, s) => n + s.translations, 0));
    this.setDrops('socket', DROP_REASONS, src.maps.readDrops());
    const state = (this.lastSocket = src.programmed() ?? this.lastSocket);
    if (!state) return;
    const frontends = [...state.frontends.values()];
    this.setProgrammed('socket', frontends.length, state.backends.size, frontends.map((f) => f.master?.count ?? 0));
    this.setEntries(socketMapEntries(state));
    if (!this.serviceTranslations) return;
    const bySvcId = new Map(stats.map((s) => [s.svcId, s.translations]));
    this.serviceTranslations.reset();
    for (const f of frontends) {
      if (!f.master || !f.source) continue;
      setCounter(this.serviceTranslations, { service: servicePortName(f.source), frontend: formatFrontend(f) }, bySvcId.get(f.master.svcId) ?? 0);
    }
  }

  private collectEdge(src: EdgeLbSource): void {
    // Misses and drops before packets: hits, their difference, then errs high, never low.
    const misses = src.maps.readFlowMisses();
    const drops = src.maps.readDrops();
    const stats = src.maps.readStats();
    const packets = stats.reduce((n, s) => n + s.packets, 0);
    setCounter(this.edgePackets, {}, packets);
    setCounter(this.edgeBytes, {}, stats.reduce((n, s) => n + s.bytes, 0));
    this.setDrops('edge', XDP_DROP_REASONS, drops);
    this.hits = flowHits(packets, misses, drops, this.hits);
    this.flowLookups.reset();
    this.flowLookups.inc({ result: 'hit' }, this.hits);
    this.flowLookups.inc({ result: 'miss' }, misses);
    const state = (this.lastEdge = src.programmed() ?? this.lastEdge);
    if (!state) return;
    const services = [...state.services.values()];
    const frontends = services.flatMap((s) => [...s.frontends.values()]);
    this.setProgrammed('edge', frontends.length, services.reduce((n, s) => n + s.backends.size, 0), frontends.map((f) => f.count));
    this.setEntries(edgeMapEntries(state));
    if (!this.servicePackets || !this.serviceBytes) return;
    const bySvcId = new Map(stats.map((s) => [s.svcId, s]));
    this.servicePackets.reset();
    this.serviceBytes.reset();
    for (const s of services) {
      const f = s.source?.[0];
      if (!f) continue;
      const labels = { service: servicePortName(f), ip_family: ipFamily(f.addr) };
      setCounter(this.servicePackets, labels, bySvcId.get(s.svcId)?.packets ?? 0);
      setCounter(this.serviceBytes, labels, bySvcId.get(s.svcId)?.bytes ?? 0);
    }
  }

  /** Every named reason, zero or not, so that alerts find the series; an
   *  unnamed one (a newer program than this agent) once it counts. */
  private setDrops(datapath: Datapath, names: readonly string[], counts: number[]): void {
    counts.forEach((n, i) => {
      if (i < names.length || n > 0) this.drops.inc({ datapath, reason: dropReasonName(i, names) }, n);
    });
  }

  private setProgrammed(datapath: Datapath, frontends: number, backends: number, backendCounts: number[]): void {
    this.frontends.set({ datapath }, frontends);
    this.backends.set({ datapath }, backends);
    const ranges = new Map(backendsRanges().map((r) => [r, 0]));
    for (const n of backendCounts) ranges.set(backendsRange(n), (ranges.get(backendsRange(n)) ?? 0) + 1);
    for (const [backends, n] of ranges) this.byBackends.set({ datapath, backends }, n);
  }

  private setEntries(entries: MapCounts): void {
    for (const [map, n] of Object.entries(entries)) this.mapEntries.set({ map }, n);
  }
}

/** A counter whose total the datapath keeps: set, not added to. */
function setCounter<L extends string>(c: Counter<L>, labels: Partial<Record<L, string>>, value: number): void {
  c.remove(labels);
  c.inc(labels, value);
}
