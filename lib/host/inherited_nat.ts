// Connections another proxy translated before kpr took over (kube-proxy's
// DNAT, during a migration) keep their translation in the node's conntrack,
// but the kernel applies it only while conntrack's and nf_nat's hooks are
// registered in the network namespace: while some rule uses conntrack and
// some nat chain exists there. `kube-proxy --cleanup` deletes kube-proxy's,
// on many nodes the last ones: the next packets of those connections would
// leave untranslated and go unanswered (measured: every held flow broke).
// So while the node's conntrack holds connections with a translated
// destination, kpr keeps nat chains of its own (nftables table
// `inet kpr_inherited_nat`, which accepts everything), and deletes them once
// none is left; its BPF programs leave such flows to the stack
// (bpf/include/kpr_node_conntrack.h). Checked at start and at each full sync,
// until the first check that finds none: no cost once the migration is over.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Logger } from '../log';
import { localPortRange, PortRange } from './local_port_range';

export const INHERITED_NAT_TABLE = 'kpr_inherited_nat';

/** A nat chain registers nf_nat's hooks of both families (an inet table) on
 *  every hook; the prerouting rule's conntrack expression, conntrack's (a nat
 *  chain alone does not). Nat chains see only a connection's first packet.
 *
 *  With nf_nat's hooks there, a connection whose tuple clashes with one
 *  conntrack holds is moved to a free source port, with no range given
 *  anywhere in 1024-65535: where the edge LB's snat flows have theirs
 *  (snat_ports.ts), so that a backend's replies to it could be taken for a
 *  snat flow's. During a migration such clashes are common: the old proxy's
 *  masquerade kept its clients' ports, from their local range, and the node's
 *  own connections to the same backends take ports from the same range
 *  (measured: 2-16 of 2000 socket-LB connections moved; in about one test
 *  run in ten under load, a reply to one went to a NodePort client). The
 *  postrouting rule keeps those moves in the node's local port range; a
 *  connection whose tuple is free keeps its port (nf_nat leaves a tuple in
 *  range and unused alone). It runs after the old proxy's masquerade
 *  (srcnat), which binds the connections it matches first. A table a
 *  previous agent left is emptied first, in the same transaction, so that its
 *  rules are not there twice. */
function keepHooks(local: PortRange): string {
  const ports = `${local.min}-${local.max}`;
  return `table inet ${INHERITED_NAT_TABLE} {}
flush table inet ${INHERITED_NAT_TABLE}
table inet ${INHERITED_NAT_TABLE} {
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    ct state established,related accept
  }
  chain postrouting {
    type nat hook postrouting priority srcnat + 1; policy accept;
    meta l4proto { tcp, udp } th sport ${ports} snat to :${ports}
  }
}
`;
}

/** One direction of a connection as /proc/net/nf_conntrack writes it (IPv6
 *  addresses in full); no ports for a protocol without them. */
export interface ConntrackTuple {
  src: string;
  dst: string;
  sport?: string;
  dport?: string;
}

/** A line's tuples, `src= dst= [sport= dport=]` each, original first. */
const TUPLES = /\bsrc=(\S+) dst=(\S+)(?: sport=(\d+) dport=(\d+))?.*?\bsrc=(\S+) dst=(\S+)(?: sport=(\d+) dport=(\d+))?/;

/** A line of /proc/net/nf_conntrack: its original and reply tuples. */
export function conntrackTuples(line: string): { original: ConntrackTuple; reply: ConntrackTuple } | undefined {
  const m = TUPLES.exec(line);
  if (!m) return undefined;
  return { original: { src: m[1], dst: m[2], sport: m[3], dport: m[4] }, reply: { src: m[5], dst: m[6], sport: m[7], dport: m[8] } };
}

/** Connections of /proc/net/nf_conntrack whose destination was translated:
 *  the reply's source differs from the original destination. */
export function countTranslated(conntrack: string): number {
  let n = 0;
  for (const line of conntrack.split('\n')) {
    const t = conntrackTuples(line);
    if (!t) continue;
    const { original, reply } = t;
    if (original.dst !== reply.src || (original.dport !== undefined && reply.sport !== undefined && original.dport !== reply.sport)) n++;
  }
  return n;
}

export interface InheritedNatDeps {
  /** /proc/net/nf_conntrack's text in the agent's namespace; undefined without conntrack. */
  readConntrack(): string | undefined;
  /** Makes the table (idempotent). */
  keep(): void;
  /** Deletes the table if there is one, a previous agent's too. */
  release(): void;
  /** Each count read (kpr_inherited_nat_connections). */
  counted(n: number): void;
  log: Logger;
}

export class InheritedNat {
  private kept = false;
  private finished = false;

  constructor(private readonly deps: InheritedNatDeps) {}

  check(): void {
    if (this.finished) return;
    const text = this.deps.readConntrack();
    if (text === undefined) {
      // No conntrack here (or no procfs to read it by): nothing to keep.
      this.finished = true;
      return;
    }
    const translated = countTranslated(text);
    this.deps.counted(translated);
    if (translated === 0) {
      this.finished = true;
      this.release();
      return;
    }
    if (this.kept) return;
    try {
      this.deps.keep();
      this.kept = true;
      this.deps.log.info(`inherited NAT: ${translated} connections translated by the node's conntrack before kpr (another proxy's rules); nftables table inet ${INHERITED_NAT_TABLE} keeps their translation until they end`);
    } catch (e) {
      this.finished = true;
      this.deps.log.error(`inherited NAT: ${(e as Error).message.trim()}; connections translated before kpr lose their translation once the other proxy's rules are removed`);
    }
  }

  private release(): void {
    try {
      this.deps.release();
      if (this.kept) this.deps.log.info(`inherited NAT: no connection translated before kpr is left; table inet ${INHERITED_NAT_TABLE} deleted`);
    } catch (e) {
      this.deps.log.warn(`inherited NAT: deleting table inet ${INHERITED_NAT_TABLE} (if an agent left one): ${(e as Error).message.trim()}`);
    }
  }
}

const nft = (script: string) => execFileSync('nft', ['-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'] });

/** The node as the agent reaches it: procfs (--procfs) for conntrack, nft for the table. */
export function nodeInheritedNat(procfs: string, log: Logger, counted: (n: number) => void): InheritedNat {
  return new InheritedNat({
    counted,
    readConntrack: () => {
      try {
        return fs.readFileSync(path.join(procfs, 'net', 'nf_conntrack'), 'utf8');
      } catch {
        return undefined;
      }
    },
    keep: () => nft(keepHooks(localPortRange())),
    release: () => void deleteInheritedNatTable(),
    log,
  });
}

/** kpr cleanup: deletes the table if it is there; whether it was. */
export function deleteInheritedNatTable(): boolean {
  try {
    execFileSync('nft', ['list', 'table', 'inet', INHERITED_NAT_TABLE], { stdio: 'ignore' });
  } catch {
    return false; // no such table, or no nft and so none
  }
  nft(`delete table inet ${INHERITED_NAT_TABLE}\n`);
  return true;
}
