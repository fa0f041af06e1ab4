// What the datapath has programmed for one frontend, read from the maps with
// the agent's own reading of them (lib/datapath/socket/programmed.ts).
import { Backend, SocketMaps, FrontendKey } from '../../lib/datapath/native';
import { activeBackends, socketState } from '../../lib/datapath/socket/programmed';
import { frontendKey } from '../../lib/model/frontend';
import { canonicalIp } from '../../lib/model/ip_address';

/** The active backends of fe in slot order, addresses canonical; empty when fe is not programmed. */
export function programmedBackends(maps: SocketMaps, fe: FrontendKey): Backend[] {
  const state = socketState(maps.dumpServices(), maps.dumpBackends());
  const frontend = state.frontends.get(frontendKey({ ...fe, addr: canonicalIp(fe.addr) ?? fe.addr }));
  return frontend ? activeBackends(frontend, state.backends) : [];
}
