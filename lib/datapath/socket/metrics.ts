// What the socket LB gives kpr's metrics: its maps' capacities, its
// translation and drop counters, and from its reconciler's last plan what is
// programmed, so that no scrape dumps a hash map.
import { DatapathSeries, LbMetrics, MapCounts, servicePortName, setCounter } from '../../metrics/datapath_metrics';
import { formatFrontend } from '../../model/frontend';
import { SocketMaps, SocketOpenOptions } from '../native';
import { SOCK_DROP_REASONS } from '../reasons';
import { entriesOf, SocketState } from './programmed';

export interface SocketLbSource {
  maps: Pick<SocketMaps, 'readServiceStats' | 'readDrops'>;
  /** The reconciler's last plan; undefined while it has to read the maps again. */
  programmed(): SocketState | undefined;
  capacities: MapCounts;
}

/** The socket LB's maps as the addon sizes them (native/src/loader.cc). */
export function socketMapCapacities(o: Pick<SocketOpenOptions, 'lbMapMax' | 'revNatMapMax'>): MapCounts {
  return { kpr_services: o.lbMapMax, kpr_backends: o.lbMapMax, kpr_affinity: o.lbMapMax, kpr_revnat: o.revNatMapMax };
}

/** Entries of the socket LB's hash maps that the agent writes. Its LRU maps
 *  (kpr_affinity, kpr_revnat) are written by the programs, per connection:
 *  the flow collector counts them (flowGcStep). */
export function socketMapEntries(s: SocketState): MapCounts {
  let services = 0;
  for (const f of s.frontends.values()) services += entriesOf(f);
  return { kpr_services: services, kpr_backends: s.backends.size };
}

export class SocketLbMetrics implements LbMetrics {
  readonly capacities: MapCounts;
  /** The last plan stands in while the reconciler has none (after a failed sync). */
  private last?: SocketState;

  constructor(private readonly src: SocketLbSource) {
    this.capacities = src.capacities;
  }

  collect(series: DatapathSeries): void {
    const stats = this.src.maps.readServiceStats();
    setCounter(series.translations, {}, stats.reduce((n, s) => n + s.translations, 0));
    series.setDrops('socket', SOCK_DROP_REASONS, this.src.maps.readDrops());
    const state = (this.last = this.src.programmed() ?? this.last);
    if (!state) return;
    const frontends = [...state.frontends.values()];
    series.setProgrammed('socket', frontends.length, state.backends.size, frontends.map((f) => f.master?.count ?? 0));
    series.setEntries(socketMapEntries(state));
    if (!series.serviceTranslations) return;
    const bySvcId = new Map(stats.map((s) => [s.svcId, s.translations]));
    series.serviceTranslations.reset();
    for (const f of frontends) {
      if (!f.master || !f.source) continue;
      setCounter(series.serviceTranslations, { service: servicePortName(f.source), frontend: formatFrontend(f) }, bySvcId.get(f.master.svcId) ?? 0);
    }
  }
}
