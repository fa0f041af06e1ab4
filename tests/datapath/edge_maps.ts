// The pinned edge maps as bpftool reads them (through their BTF), so that
// tests check what the kernel holds, not what the addon says it wrote.
import * as path from 'path';
import { EdgeBackend, EdgeFrontend, SourceRange } from '../../lib/datapath/native';
import { Protocol } from '../../lib/model/protocol';
import { canonicalCidr } from '../../lib/model/cidr';
import { ipFromValue } from '../../lib/model/ip_address';
import { run } from '../helpers/run';

const AF_INET = 2;
const PROTOS: Record<number, Protocol> = { 6: 'TCP', 17: 'UDP', 132: 'SCTP' };
// kpr_edge_types.h
const F = { affinity: 0x01, ranges: 0x02, snat: 0x04, random: 0x08, drop: 0x10 };

interface Entry<K, V> {
  key: string[];
  value: string[];
  formatted?: { key: K; value: V };
}

function dump<K, V>(mapDir: string, name: string): Entry<K, V>[] {
  return JSON.parse(run('bpftool', ['-j', 'map', 'dump', 'pinned', path.join(mapDir, name)])) as Entry<K, V>[];
}

function addr(bytes: number[], family: number): string {
  const n = family === AF_INET ? 4 : 16;
  return ipFromValue(
    bytes.slice(0, n).reduce((v, b) => (v << 8n) | BigInt(b), 0n),
    family === AF_INET ? 'IPv4' : 'IPv6',
  );
}


/** A __u16 in network order, as BTF shows it on this little-endian host. */
const port = (p: number) => ((p & 0xff) << 8) | (p >> 8);


export function readFrontends(mapDir: string): EdgeFrontend[] {
  type K = { addr: number[]; port: number; proto: number; family: number };
  type V = { svc_id: number; count: number; flags: number; affinity_timeout: number };
  return dump<K, V>(mapDir, 'kpr_edge_frontends').map(({ formatted: f }) => {
    const { key: k, value: v } = f as { key: K; value: V };
    return {
      addr: addr(k.addr, k.family),
      port: port(k.port),
      proto: PROTOS[k.proto],
      svcId: v.svc_id,
      count: v.count,
      affinityTimeout: v.affinity_timeout,
      sourceRanges: (v.flags & F.ranges) !== 0,
      mode: v.flags & F.snat ? 'snat' : 'dsr',
      algorithm: v.flags & F.random ? 'random' : 'maglev',
      noBackend: v.flags & F.drop ? 'drop' : 'reject',
    };
  });
}

export function readBackends(mapDir: string): EdgeBackend[] {
  type V = { addr: number[]; node_addr: number[]; port: number; family: number; svc_id: number };
  // An array: a free id is all zero.
  return dump<number, V>(mapDir, 'kpr_edge_backends').flatMap(({ formatted: f }) => {
    const { key: id, value: v } = f as { key: number; value: V };
    if (v.family === 0) return [];
    const b: EdgeBackend = { id, addr: addr(v.addr, v.family), port: port(v.port), svcId: v.svc_id };
    return [v.node_addr.every((x) => x === 0) ? b : { ...b, nodeAddr: addr(v.node_addr, v.family) }];
  });
}

export function readSourceRanges(mapDir: string): SourceRange[] {
  type K = { prefixlen: number; svc_id: number; family: number; addr: number[] };
  return dump<K, number>(mapDir, 'kpr_edge_source_ranges').map(({ formatted: f }) => {
    const k = (f as { key: K }).key;
    return { svcId: k.svc_id, cidr: canonicalCidr(`${addr(k.addr, k.family)}/${k.prefixlen - 64}`) as string };
  });
}

/** A little-endian number from bpftool's hex bytes. */
const le = (bytes: string[]) => bytes.reduce((v, b, i) => v + parseInt(b, 16) * 2 ** (8 * i), 0);

/** Service id -> its Maglev table (backend ids). */
export function readMaglevTables(mapDir: string): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const outer of dump<number, number>(mapDir, 'kpr_edge_maglev')) {
    const inner = JSON.parse(run('bpftool', ['-j', 'map', 'dump', 'id', String(le(outer.value))])) as Entry<unknown, unknown>[];
    const entries = inner.map((e) => ({ slot: le(e.key), id: le(e.value) }));
    out.set(le(outer.key), entries.sort((a, b) => a.slot - b.slot).map((e) => e.id));
  }
  return out;
}

/** What `kpr trace` asked of the XDP program (struct edge_trace_ctl). */
export interface TraceCtl {
  /** The lease's end (bpf_ktime_get_coarse_ns); 0: no trace is on. */
  untilNs: number;
  /** 0: any frontend, any client. */
  frontendFamily: number;
  clientFamily: number;
}

export function readTraceCtl(mapDir: string): TraceCtl {
  type V = { until_ns: number; frontend_family: number; client_family: number };
  const [entry] = dump<number, V>(mapDir, 'kpr_xdp_trace_ctl');
  const v = (entry.formatted as { value: V }).value;
  return { untilNs: v.until_ns, frontendFamily: v.frontend_family, clientFamily: v.client_family };
}
