// Checks of what the agent programmed, read from the pinned maps with the
// agent's own reading of them (lib/datapath/socket/programmed.ts). A dump of every
// entry takes about half a second at 10k services of 10 endpoints, so the
// benchmark dumps once per check and polls dumps only as a fallback.
import { SocketMaps } from '../../lib/datapath/native';
import { activeBackends, socketState } from '../../lib/datapath/socket/programmed';
import { frontendKey } from '../../lib/model/frontend';
import { BACKEND_PORT, SERVICE_PORT } from './control_plane_objects';

/** Backends a service should have: addresses, any order. */
export interface Expected {
  clusterIP: string;
  addresses: string[];
}

export interface MapCheck {
  /** Expected frontends that are programmed with exactly the expected backends. */
  matching: number;
  /** Up to a few descriptions of those that are not. */
  mismatches: string[];
  /** Frontends in the maps, of any service. */
  frontends: number;
  dumpMs: number;
}

const MAX_REPORTED = 5;

const sortedKey = (addrs: string[]) => [...addrs].sort().join(',');

export function checkMaps(maps: SocketMaps, expected: Expected[]): MapCheck {
  const start = performance.now();
  const state = socketState(maps.dumpServices(), maps.dumpBackends());
  const dumpMs = performance.now() - start;
  let matching = 0;
  const mismatches: string[] = [];
  for (const e of expected) {
    const fe = state.frontends.get(frontendKey({ addr: e.clusterIP, port: SERVICE_PORT, proto: 'TCP' }));
    const backends = fe ? activeBackends(fe, state.backends) : [];
    const ok = backends.every((b) => b.port === BACKEND_PORT) && sortedKey(backends.map((b) => b.addr)) === sortedKey(e.addresses);
    if (ok) matching++;
    else if (mismatches.length < MAX_REPORTED) {
      mismatches.push(`${e.clusterIP}:${SERVICE_PORT}: ${fe ? `backends ${backends.map((b) => `${b.addr}:${b.port}`).join(' ') || 'none'}` : 'not programmed'}`);
    }
  }
  return { matching, mismatches, frontends: state.frontends.size, dumpMs };
}
