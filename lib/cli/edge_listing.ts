// What the CLI shows of the edge LB's pinned maps: its frontends with their
// backends (`kpr services`), the flows it pinned (`kpr flows`), and, with
// the socket LB's, every backend and what serves it (`kpr backends`).
// Ordered by address, so that output is stable.
import { flowStateName } from '../datapath/edge/flow_state';
import { formatColumns } from './columns';
import { formatFrontend } from '../model/frontend';
import { formatAddrPort, ipSortKey } from '../model/ip_address';
import { sortedBy } from '../model/order';
import { Backend, EdgeBackend, EdgeFlow, EdgeFrontend } from '../datapath/native';

const addrKey = (addr: string, port: number) => `${ipSortKey(addr)}|${String(port).padStart(5, '0')}`;

/** The edge frontends of each service id, as "addr:port/PROTO", sorted. */
function frontendsBySvc(frontends: EdgeFrontend[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const f of sortedBy(frontends, (x) => `${addrKey(x.addr, x.port)}|${x.proto}`)) {
    out.set(f.svcId, [...(out.get(f.svcId) ?? []), formatFrontend(f)]);
  }
  return out;
}

export interface EdgeServiceRow {
  frontend: string;
  /** external: clients outside the node (XDP); pod: the per-packet path's view. */
  scope: 'external' | 'pod';
  svcId: number;
  /** The forwarding mode; "pod" for the per-packet path, which only rewrites the destination. */
  mode: string;
  algorithm: string;
  affinityTimeout: number;
  sourceRanges: boolean;
  /** nodeAddr: the node it runs on, when not this one. */
  backends: { id: number; addr: string; port: number; nodeAddr?: string }[];
}

const backendText = (b: { addr: string; port: number; nodeAddr?: string }) => `${formatAddrPort(b.addr, b.port)}${b.nodeAddr ? `@${b.nodeAddr}` : ''}`;

export function edgeServiceRows(frontends: EdgeFrontend[], backends: EdgeBackend[]): EdgeServiceRow[] {
  const bySvc = new Map<number, EdgeBackend[]>();
  for (const b of sortedBy(backends, (x) => addrKey(x.addr, x.port))) bySvc.set(b.svcId, [...(bySvc.get(b.svcId) ?? []), b]);
  return sortedBy(frontends, (f) => `${addrKey(f.addr, f.port)}|${f.proto}|${f.scope ?? ''}`).map((f) => ({
    frontend: formatFrontend(f),
    scope: f.scope ?? 'external',
    svcId: f.svcId,
    mode: f.scope ?? f.mode,
    algorithm: f.algorithm,
    affinityTimeout: f.affinityTimeout,
    sourceRanges: f.sourceRanges,
    backends: f.count > 0 ? (bySvc.get(f.svcId) ?? []).map(({ id, addr, port, nodeAddr }) => (nodeAddr ? { id, addr, port, nodeAddr } : { id, addr, port })) : [],
  }));
}

export function formatEdgeServices(rows: EdgeServiceRow[]): string {
  return formatColumns(
    ['EDGE FRONTEND', 'ID', 'MODE', 'ALGORITHM', 'AFFINITY', 'BACKENDS', 'ADDRESSES'],
    rows.map((r) => [r.frontend, String(r.svcId), r.mode, r.algorithm, r.affinityTimeout > 0 ? `${r.affinityTimeout}s` : 'none', String(r.backends.length), r.backends.map(backendText).join(', ')]),
  );
}

export interface FlowRow {
  client: string;
  proto: string;
  /** The frontends of the flow's service: the flow reached one of them. */
  frontends: string[];
  backend?: string;
  /** flowStateName(): established, closing, reset, udp ... */
  state: string;
  /** Seconds since the flow's last packet. */
  idleSeconds: number;
}

export function flowRows(flows: EdgeFlow[], frontends: EdgeFrontend[], backends: EdgeBackend[]): FlowRow[] {
  const fes = frontendsBySvc(frontends);
  const byId = new Map(backends.map((b) => [b.id, b]));
  return sortedBy(flows, (f) => `${addrKey(f.client, f.clientPort)}|${f.proto}`).map((f) => {
    const b = byId.get(f.backendId);
    return {
      client: formatAddrPort(f.client, f.clientPort),
      proto: f.proto,
      frontends: fes.get(f.svcId) ?? [],
      backend: b && b.svcId === f.svcId ? backendText(b) : undefined,
      state: flowStateName(f.proto, f.state),
      idleSeconds: f.idleSeconds,
    };
  });
}

export function formatFlows(rows: FlowRow[]): string {
  return formatColumns(
    ['CLIENT', 'PROTO', 'FRONTENDS', 'BACKEND', 'STATE', 'IDLE'],
    rows.map((r) => [r.client, r.proto, r.frontends.join(', ') || '(gone)', r.backend ?? '(gone)', r.state, `${r.idleSeconds}s`]),
  );
}

export interface BackendRow {
  backend: string;
  /** Where it runs: 'local' (this node routes to it) or the node's address. */
  node: string;
  /** Frontends of the socket LB, and of the edge LB, that use it. */
  socketFrontends: number;
  edgeFrontends: number;
}

export function backendRows(socket: Backend[], socketUse: Map<number, number>, edge: EdgeBackend[], edgeFrontends: EdgeFrontend[]): BackendRow[] {
  const fesPerSvc = new Map<number, number>();
  for (const f of edgeFrontends) fesPerSvc.set(f.svcId, (fesPerSvc.get(f.svcId) ?? 0) + 1);
  const rows = new Map<string, BackendRow & { key: string }>();
  const row = (addr: string, port: number, node: string) => {
    const key = `${addrKey(addr, port)}|${node}`;
    const r = rows.get(key) ?? { key, backend: formatAddrPort(addr, port), node, socketFrontends: 0, edgeFrontends: 0 };
    rows.set(key, r);
    return r;
  };
  for (const b of socket) row(b.addr, b.port, 'local').socketFrontends += socketUse.get(b.id) ?? 0;
  for (const b of edge) row(b.addr, b.port, b.nodeAddr ?? 'local').edgeFrontends += fesPerSvc.get(b.svcId) ?? 0;
  return sortedBy([...rows.values()], (r) => r.key).map(({ key: _key, ...r }) => r);
}

export function formatBackends(rows: BackendRow[]): string {
  return formatColumns(
    ['BACKEND', 'NODE', 'SOCKET FRONTENDS', 'EDGE FRONTENDS'],
    rows.map((r) => [r.backend, r.node, String(r.socketFrontends), String(r.edgeFrontends)]),
  );
}
