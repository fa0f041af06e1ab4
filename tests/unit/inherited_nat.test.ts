import { countTranslated, InheritedNat, InheritedNatDeps } from '../../lib/host/inherited_nat';
import { Logger } from '../../lib/log';

// Lines as /proc/net/nf_conntrack shows them (fields after the reply tuple trimmed where they do not matter).
const DNAT_TCP =
  'ipv4     2 tcp      6 86395 ESTABLISHED src=198.18.0.1 dst=198.18.0.2 sport=40000 dport=30080 src=198.18.11.11 dst=198.18.0.2 sport=8080 dport=40000 [ASSURED] mark=0 zone=0 use=2';
const DNAT_UDP_SAME_ADDR_OTHER_PORT =
  'ipv4     2 udp      17 117 src=198.18.0.1 dst=198.18.0.2 sport=50000 dport=30081 src=198.18.0.2 dst=198.18.0.1 sport=8081 dport=50000 [ASSURED] mark=0 zone=0 use=2';
const DNAT_TCP6 =
  'ipv6     10 tcp      6 86395 ESTABLISHED src=fd00:198:18::1 dst=fd00:198:18:1::9:60 sport=40000 dport=80 src=fd00:198:18:11::11 dst=fd00:198:18::2 sport=8080 dport=40000 [ASSURED] mark=0 zone=0 use=2';
const PLAIN = 'ipv4     2 tcp      6 300 ESTABLISHED src=198.18.0.2 dst=198.18.11.11 sport=41000 dport=8080 src=198.18.11.11 dst=198.18.0.2 sport=8080 dport=41000 [ASSURED] mark=0 zone=0 use=2';
const SNAT_ONLY = 'ipv4     2 tcp      6 300 ESTABLISHED src=198.18.10.11 dst=198.18.0.1 sport=41000 dport=443 src=198.18.0.1 dst=198.18.0.2 sport=443 dport=41000 [ASSURED] mark=0 zone=0 use=2';
const UNREPLIED = 'ipv4     2 udp      17 29 src=198.18.0.2 dst=198.18.0.9 sport=5353 dport=5353 [UNREPLIED] src=198.18.0.9 dst=198.18.0.2 sport=5353 dport=5353 mark=0 zone=0 use=2';

function quietLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const put = (m: string) => void lines.push(m);
  return { lines, debug: put, info: put, warn: put, error: put };
}

function deps(tables: (string | undefined)[]): InheritedNatDeps & { calls: string[]; counts: number[]; log: ReturnType<typeof quietLog> } {
  const calls: string[] = [];
  const counts: number[] = [];
  return {
    calls,
    counts,
    counted: (n) => void counts.push(n),
    readConntrack: () => tables.shift(),
    keep: () => void calls.push('keep'),
    release: () => void calls.push('release'),
    log: quietLog(),
  };
}

describe('connections another proxy translated (inherited NAT)', () => {
  test('counts the entries whose destination was translated: address or port, either family; never a plain or source-only one', () => {
    expect(countTranslated([DNAT_TCP, DNAT_UDP_SAME_ADDR_OTHER_PORT, DNAT_TCP6, PLAIN, SNAT_ONLY, UNREPLIED, ''].join('\n'))).toBe(3);
    expect(countTranslated('')).toBe(0);
  });

  test('keeps the table while such connections are left, releases it once none is, then stops looking', () => {
    const d = deps([DNAT_TCP, `${DNAT_TCP}\n${PLAIN}`, PLAIN, DNAT_TCP]);
    const n = new InheritedNat(d);
    n.check();
    n.check();
    expect(d.calls).toEqual(['keep']);
    n.check();
    expect(d.calls).toEqual(['keep', 'release']);
    // Later translations are another proxy's business now: not read again.
    n.check();
    expect(d.calls).toEqual(['keep', 'release']);
    expect(d.counts).toEqual([1, 1, 0]);
    expect(d.log.lines.join('\n')).toMatch(/1 connections translated .* table inet kpr_inherited_nat keeps/);
    expect(d.log.lines.join('\n')).toMatch(/no connection translated before kpr is left; table inet kpr_inherited_nat deleted/);
  });

  test('with none at the first look, a table a previous agent left is released; without conntrack nothing is touched', () => {
    const d = deps([PLAIN]);
    new InheritedNat(d).check();
    expect(d.calls).toEqual(['release']);
    const none = deps([undefined]);
    new InheritedNat(none).check();
    expect(none.calls).toEqual([]);
  });

  test('a failure to delete a table (none to keep) is a warning, not the agent\'s end', () => {
    const d = deps([PLAIN]);
    d.release = () => {
      throw new Error('nft: Operation not permitted');
    };
    new InheritedNat(d).check();
    expect(d.log.lines).toEqual([expect.stringMatching(/inherited NAT: deleting table inet kpr_inherited_nat \(if an agent left one\): nft: Operation not permitted/)]);
  });

  test('a failure to make the table is an error in the log, not the agent\'s end, and is not retried', () => {
    const d = deps([DNAT_TCP, DNAT_TCP]);
    d.keep = () => {
      throw new Error('nft: Operation not permitted');
    };
    const n = new InheritedNat(d);
    n.check();
    n.check();
    expect(d.log.lines).toEqual([expect.stringMatching(/inherited NAT: nft: Operation not permitted; connections translated before kpr lose their translation/)]);
  });
});
