// What `kpr services` shows: one row per programmed frontend with its active
// backends, read from the maps, ordered by address so that output is stable.
import { formatColumns } from './columns';
import { formatFrontend } from '../model/frontend';
import { formatAddrPort, ipSortKey } from '../model/ip_address';
import { sortedBy } from '../model/order';
import { Protocol } from '../model/protocol';
import { activeBackends, SocketState } from '../datapath/socket/programmed';

export interface ServiceRow {
  /** "198.19.0.10:80/TCP", "[fd00:198:18::10]:53/UDP". */
  frontend: string;
  addr: string;
  port: number;
  proto: Protocol;
  svcId: number;
  /** Seconds; 0 = no ClientIP affinity. */
  affinityTimeout: number;
  backends: { id: number; addr: string; port: number }[];
}

const sortKey = (addr: string, port: number, proto = '') => `${ipSortKey(addr)}|${String(port).padStart(5, '0')}|${proto}`;

export function serviceRows(state: SocketState): ServiceRow[] {
  const rows: ServiceRow[] = [];
  for (const f of state.frontends.values()) {
    if (!f.master) continue;
    rows.push({
      frontend: formatFrontend(f),
      addr: f.addr,
      port: f.port,
      proto: f.proto,
      svcId: f.master.svcId,
      affinityTimeout: f.master.affinityTimeout,
      backends: sortedBy(
        activeBackends(f, state.backends).map(({ id, addr, port }) => ({ id, addr, port })),
        (b) => sortKey(b.addr, b.port),
      ),
    });
  }
  return sortedBy(rows, (r) => sortKey(r.addr, r.port, r.proto));
}

export function formatTable(rows: ServiceRow[]): string {
  const header = ['FRONTEND', 'ID', 'AFFINITY', 'BACKENDS', 'ADDRESSES'];
  const cells = rows.map((r) => [
    r.frontend,
    String(r.svcId),
    r.affinityTimeout > 0 ? `${r.affinityTimeout}s` : 'none',
    String(r.backends.length),
    r.backends.map((b) => formatAddrPort(b.addr, b.port)).join(', '),
  ]);
  return formatColumns(header, cells);
}
