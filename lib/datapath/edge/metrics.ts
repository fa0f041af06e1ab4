// What the edge LB gives kpr's metrics: its maps' capacities, its packet,
// byte, drop and flow-lookup counters, and from its reconciler's last plan
// what is programmed.
import { DatapathSeries, LbMetrics, MapCounts, servicePortName, setCounter } from '../../metrics/datapath_metrics';
import { ipFamily } from '../../model/ip_address';
import { EdgeOpenOptions, EdgeReaders } from '../native';
import { EDGE_DROP_REASONS } from '../reasons';
import { EdgeState } from './programmed';

export interface EdgeLbSource {
  maps: Pick<EdgeReaders, 'readStats' | 'readDrops' | 'readFlowMisses'>;
  /** The reconciler's last plan; undefined while it has to read the maps again. */
  programmed(): EdgeState | undefined;
  capacities: MapCounts;
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

/** Flow-table hits, which the XDP program does not count (kpr_edge_maps.h):
 *  every packet counted for a frontend looks its flow up unless it was
 *  dropped first for its source range or for having no backend. Counters
 *  read one after the other can make the difference step back by a few
 *  packets; it never goes below the last value, so it stays a counter. */
export function flowHits(packets: number, misses: number, edgeDrops: number[], last: number): number {
  const before = (reason: string) => edgeDrops[EDGE_DROP_REASONS.indexOf(reason)] ?? 0;
  return Math.max(last, packets - misses - before('source_range_denied') - before('no_service_backend'));
}

export class EdgeLbMetrics implements LbMetrics {
  readonly capacities: MapCounts;
  /** The last plan stands in while the reconciler has none (after a failed sync). */
  private last?: EdgeState;
  private hits = 0;

  constructor(private readonly src: EdgeLbSource) {
    this.capacities = src.capacities;
  }

  collect(series: DatapathSeries): void {
    // Misses and drops before packets: hits, their difference, then errs high, never low.
    const misses = this.src.maps.readFlowMisses();
    const drops = this.src.maps.readDrops();
    const stats = this.src.maps.readStats();
    const packets = stats.reduce((n, s) => n + s.packets, 0);
    setCounter(series.edgePackets, {}, packets);
    setCounter(series.edgeBytes, {}, stats.reduce((n, s) => n + s.bytes, 0));
    series.setDrops('edge', EDGE_DROP_REASONS, drops);
    this.hits = flowHits(packets, misses, drops, this.hits);
    series.flowLookups.reset();
    series.flowLookups.inc({ result: 'hit' }, this.hits);
    series.flowLookups.inc({ result: 'miss' }, misses);
    const state = (this.last = this.src.programmed() ?? this.last);
    if (!state) return;
    const services = [...state.services.values()];
    const frontends = services.flatMap((s) => [...s.frontends.values()]);
    series.setProgrammed('edge', frontends.length, services.reduce((n, s) => n + s.backends.size, 0), frontends.map((f) => f.count));
    series.setEntries(edgeMapEntries(state));
    if (!series.servicePackets || !series.serviceBytes) return;
    const bySvcId = new Map(stats.map((s) => [s.svcId, s]));
    series.servicePackets.reset();
    series.serviceBytes.reset();
    for (const s of services) {
      const f = s.source?.[0];
      if (!f) continue;
      const labels = { service: servicePortName(f), ip_family: ipFamily(f.addr) };
      setCounter(series.servicePackets, labels, bySvcId.get(s.svcId)?.packets ?? 0);
      setCounter(series.serviceBytes, labels, bySvcId.get(s.svcId)?.bytes ?? 0);
    }
  }
}
