// What the datapath has programmed for one frontend, read from the maps with
// the agent's own reading of them (lib/datapath/socket/programmed.ts).
import { Backend, DatapathMaps, FrontendKey } from '../../lib/datapath/native';
import { activeBackends, programmedState } from '../../lib/datapath/socket/programmed';
import { frontendKey } from '../../lib/model/frontend';
import { canonicalIp } from '../../lib/model/ip_address';

/** The active backends of fe in slot order, addresses canonical; empty when fe is not programmed. */
export function programmedBackends(maps: DatapathMaps, fe: FrontendKey): Backend[] {
  const state = programmedState(maps.dumpServices(), maps.dumpBackends());
  const frontend = state.frontends.get(frontendKey({ ...fe, addr: canonicalIp(fe.addr) ?? fe.addr }));
  return frontend ? activeBackends(frontend, state.backends) : [];
}
