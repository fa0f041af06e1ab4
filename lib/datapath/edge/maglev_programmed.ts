// A frontend's Maglev table as a node holds it: the backend ids of the
// programmed table turned back into the names and indexes that
// computeMaglev works with, so that its digest can be compared with
// `kpr maglev compute` and with other nodes.
import { formatFrontend } from '../../model/frontend';
import { backendName } from './programmed';
import { MaglevTable } from './maglev';
import { EdgeFrontend, FrontendKey, EdgeReaders } from '../native';

export interface ProgrammedMaglev {
  frontend: EdgeFrontend;
  size: number;
  seed: number;
  table: MaglevTable;
}

export type Digest = (input: { backends: string[]; table: number[]; seed: number }) => string;

/** The programmed table of fe; throws saying what is missing. */
export function programmedMaglev(maps: EdgeReaders, fe: FrontendKey, digest: Digest): ProgrammedMaglev {
  const frontend = maps.dumpFrontends().find((f) => f.addr === fe.addr && f.port === fe.port && f.proto === fe.proto);
  if (!frontend) throw new Error(`no edge frontend ${formatFrontend(fe)} is programmed (NodePorts, LoadBalancer IPs and ExternalIPs are)`);
  const { maglevTableSize: size, hashSeed: seed } = maps.readConfig();
  const ids = maps.readMaglevTable(frontend.svcId);
  if (ids.length === 0) throw new Error(`${formatFrontend(fe)} has no Maglev table: it has no backends`);
  const names = new Map(maps.dumpBackends().filter((b) => b.svcId === frontend.svcId).map((b) => [b.id, backendName(b)]));
  const backends = [...new Set(names.values())].sort();
  const index = new Map(backends.map((name, i) => [name, i]));
  const table = ids.map((id) => {
    const i = index.get(names.get(id) ?? '');
    if (i === undefined) throw new Error(`the table of ${formatFrontend(fe)} names backend id ${id}, which the service does not have: the agent is changing it, try again`);
    return i;
  });
  return { frontend, size, seed, table: { backends, table: Uint32Array.from(table), digest: digest({ backends, table, seed }) } };
}
