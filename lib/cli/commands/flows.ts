// kpr flows: the edge LB's flow table.
import { flowRows, formatFlows } from '../edge_listing';
import { pinnedMapDir, withEdgeMaps } from '../pinned_maps';
import { listingCommand, ListingConfig } from '../shared_flags';

function flows(cfg: ListingConfig): number {
  const rows = withEdgeMaps(pinnedMapDir(cfg.bpfRoot), (e) => flowRows(e.dumpFlows(), e.dumpFrontends(), e.dumpBackends()));
  if (rows === undefined) throw new Error(`no edge LB maps under ${cfg.bpfRoot}: the agent runs without the edge LB (--bpf-lb-acceleration disabled?)`);
  process.stdout.write(cfg.output === 'json' ? `${JSON.stringify(rows, null, 2)}\n` : formatFlows(rows));
  return 0;
}

export const flowsCommand = listingCommand(
  'flows',
  "list the edge LB's flow table: each client connection, the frontends it may have reached, and its backend",
  flows,
);
