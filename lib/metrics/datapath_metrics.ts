// kpr's own metrics (kpr_*), beside kube-proxy's. Counters come from the
// datapath's per-CPU maps, summed over CPUs by the addon and read when
// Prometheus scrapes (a batched read of each map, no timer); each LB reads
// its own (datapath/socket/metrics.ts, datapath/edge/metrics.ts). What is
// programmed comes from the reconcilers' last plans: the agent knows what it
// wrote, so no scrape dumps a hash map. Every label takes a bounded set of
// values (datapath, drop reason, map, program and attach point, a few backend
// count ranges); series per service exist only with --metrics-per-service,
// since a cluster's services are unbounded. Where the programs are is read
// from the kernel at each scrape too: a few netlink and bpf queries.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { FlowGcReport } from '../datapath/native';
import { dropReasonName } from '../datapath/reasons';
import type { ProgramPlace } from '../sync/attachment_repair';
import type { LbName } from '../sync/lb_sync';

/** Map name -> entries; capacities by the names the maps are pinned under. */
export type MapCounts = Record<string, number>;

/** What each LB gives the metrics (socket/metrics.ts, edge/metrics.ts). */
export interface LbMetrics {
  /** Entries each of its maps can hold. */
  capacities: MapCounts;
  /** Reads its counters and its last plan into the series; before each scrape. */
  collect(series: DatapathSeries): void;
}

/** The series an LB's reading goes into. The per-service ones exist only with --metrics-per-service. */
export interface DatapathSeries {
  translations: Counter;
  serviceTranslations?: Counter<'service' | 'frontend'>;
  edgePackets: Counter;
  edgeBytes: Counter;
  servicePackets?: Counter<'service' | 'ip_family'>;
  serviceBytes?: Counter<'service' | 'ip_family'>;
  flowLookups: Counter<'result'>;
  /** Every named reason, zero or not, so that alerts find the series; an
   *  unnamed one (a newer program than this agent) once it counts. */
  setDrops(datapath: LbName, names: readonly string[], counts: number[]): void;
  setProgrammed(datapath: LbName, frontends: number, backends: number, backendCounts: number[]): void;
  setEntries(entries: MapCounts): void;
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

/** 0.1ms, 0.2ms ... 3.3s: a Maglev table of 251 to 131071 entries. */
export const MAGLEV_BUILD_BUCKETS = Array.from({ length: 16 }, (_, i) => 0.0001 * 2 ** i);

export class DatapathMetrics implements DatapathSeries {
  private lbs: LbMetrics[] = [];
  readonly translations: Counter;
  readonly serviceTranslations?: Counter<'service' | 'frontend'>;
  readonly edgePackets: Counter;
  readonly edgeBytes: Counter;
  readonly servicePackets?: Counter<'service' | 'ip_family'>;
  readonly serviceBytes?: Counter<'service' | 'ip_family'>;
  private readonly drops: Counter<'datapath' | 'reason'>;
  readonly flowLookups: Counter<'result'>;
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
  private readonly inheritedNat: Gauge;

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
    this.inheritedNat = gauge(
      'kpr_inherited_nat_connections',
      "Connections the node's conntrack translated before kpr (another proxy's rules), whose translation kpr keeps applying; read at start and each full sync until it is 0",
    );
    this.attached = gauge('kpr_bpf_program_attached', 'A BPF program is on its hook of a cgroup or a device (1) or not (0), read from the kernel at each scrape', ['program', 'attach_point']);
    this.reattachments = counter('kpr_bpf_program_reattachments_total', 'BPF programs a full sync put back on a hook where it found them missing or replaced', ['program', 'attach_point']);
  }

  /** The LBs to read at each scrape. */
  readFrom(lbs: LbMetrics[]): void {
    this.lbs = lbs;
    for (const lb of lbs) for (const [map, n] of Object.entries(lb.capacities)) this.mapCapacity.set({ map }, n);
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
  pendingForCapacity(datapath: LbName, frontends: number): void {
    this.pendingCapacity.set({ datapath }, frontends);
  }

  /** The last count of connections translated before kpr (lib/host/inherited_nat.ts). */
  inheritedNatConnections(n: number): void {
    this.inheritedNat.set(n);
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
    for (const lb of this.lbs) lb.collect(this);
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

  setDrops(datapath: LbName, names: readonly string[], counts: number[]): void {
    counts.forEach((n, i) => {
      if (i < names.length || n > 0) this.drops.inc({ datapath, reason: dropReasonName(i, names) }, n);
    });
  }

  setProgrammed(datapath: LbName, frontends: number, backends: number, backendCounts: number[]): void {
    this.frontends.set({ datapath }, frontends);
    this.backends.set({ datapath }, backends);
    const ranges = new Map(backendsRanges().map((r) => [r, 0]));
    for (const n of backendCounts) ranges.set(backendsRange(n), (ranges.get(backendsRange(n)) ?? 0) + 1);
    for (const [backends, n] of ranges) this.byBackends.set({ datapath, backends }, n);
  }

  setEntries(entries: MapCounts): void {
    for (const [map, n] of Object.entries(entries)) this.mapEntries.set({ map }, n);
  }
}

/** A counter whose total the datapath keeps: set, not added to. */
export function setCounter<L extends string>(c: Counter<L>, labels: Partial<Record<L, string>>, value: number): void {
  c.remove(labels);
  c.inc(labels, value);
}
