// kpr services: the programmed frontends and their backends, of both LBs, in one list.
import { socketState } from '../../datapath/socket/programmed';
import { edgeServiceRows, formatEdgeServices } from '../edge_listing';
import { pinnedMapDir, withEdgeMaps, withSocketMaps } from '../pinned_maps';
import { formatTable, serviceRows } from '../service_listing';
import { listingCommand, ListingConfig } from '../shared_flags';

function services(cfg: ListingConfig): number {
  const mapDir = pinnedMapDir(cfg.bpfRoot);
  const rows = withSocketMaps(mapDir, (m) => serviceRows(socketState(m.dumpServices(), m.dumpBackends())));
  const edge = withEdgeMaps(mapDir, (e) => edgeServiceRows(e.dumpFrontends(), e.dumpBackends())) ?? [];
  // One list: each row says which LB it belongs to; edge rows add the mode and algorithm.
  if (cfg.output === 'json') process.stdout.write(`${JSON.stringify([...rows.map((r) => ({ lb: 'socket', ...r })), ...edge.map((r) => ({ lb: 'edge', ...r }))], null, 2)}\n`);
  else process.stdout.write(formatTable(rows) + (edge.length > 0 ? `\n${formatEdgeServices(edge)}` : ''));
  return 0;
}

export const servicesCommand = listingCommand(
  'services',
  'list the programmed frontends and their backends, of the socket LB and of the edge LB, from the pinned maps',
  services,
);
