// kpr backends: every programmed backend, its node, and how many frontends of each LB use it.
import { socketState } from '../../datapath/socket/programmed';
import { backendRows, formatBackends } from '../edge_listing';
import { pinnedMapDir, withEdgeMaps, withSocketMaps } from '../pinned_maps';
import { serviceRows } from '../service_listing';
import { listingCommand, ListingConfig } from '../shared_flags';

function backends(cfg: ListingConfig): number {
  const mapDir = pinnedMapDir(cfg.bpfRoot);
  const { socket, used } = withSocketMaps(mapDir, (m) => {
    const backends = m.dumpBackends();
    // A socket LB backend id belongs to one frontend; it serves while active there.
    const active = new Map<number, number>();
    for (const r of serviceRows(socketState(m.dumpServices(), backends))) for (const b of r.backends) active.set(b.id, 1);
    return { socket: backends, used: active };
  });
  const rows = withEdgeMaps(mapDir, (e) => backendRows(socket, used, e.dumpBackends(), e.dumpFrontends())) ?? backendRows(socket, used, [], []);
  process.stdout.write(cfg.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : formatBackends(rows));
  return 0;
}

export const backendsCommand = listingCommand(
  'backends',
  'list every programmed backend, the node it runs on, and how many frontends of each LB use it',
  backends,
);
