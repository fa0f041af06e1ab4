// What the datapath has programmed for one frontend, read from the maps with
// the agent's own reading of them (lib/datapath/socket/programmed.ts); and
// what the edge LB has dropped.
import { Backend, SocketMaps, FrontendKey, loadAddon } from '../../lib/datapath/native';
import { EDGE_DROP_REASONS } from '../../lib/datapath/reasons';
import { activeBackends, socketState } from '../../lib/datapath/socket/programmed';
import { frontendKey } from '../../lib/model/frontend';
import { canonicalIp } from '../../lib/model/ip_address';

/** The active backends of fe in slot order, addresses canonical; empty when fe is not programmed. */
export function programmedBackends(maps: SocketMaps, fe: FrontendKey): Backend[] {
  const state = socketState(maps.dumpServices(), maps.dumpBackends());
  const frontend = state.frontends.get(frontendKey({ ...fe, addr: canonicalIp(fe.addr) ?? fe.addr }));
  return frontend ? activeBackends(frontend, state.backends) : [];
}

/** Every edge drop counter that is not zero, by reason, from the pinned maps in mapDir. */
export function edgeDrops(mapDir: string): Record<string, number> {
  const maps = loadAddon().openPinnedEdgeMaps(mapDir);
  try {
    return Object.fromEntries(maps.readDrops().flatMap((n, i) => (n > 0 ? [[EDGE_DROP_REASONS[i] ?? `reason_${i}`, n]] : [])));
  } finally {
    maps.close();
  }
}
