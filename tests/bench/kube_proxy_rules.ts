// What kube-proxy programmed, read from its ruleset inside its node network
// namespace: `iptables-save -t nat` in iptables mode, `nft list table ip
// kube-proxy` in nftables mode. Both name each ClusterIP and each endpoint's
// DNAT target in plain text: "--to-destination A:P" in iptables; in nftables
// "dnat to A:P", or, as kube-proxy 1.37 writes a service chain, one
// "dnat ip to numgen random mod N map { 0 : A . P, ... }" per service.
import { execFileSync } from 'child_process';

export type ProxyMode = 'iptables' | 'nftables';

const DUMP_TIMEOUT_MS = 60_000;
/** A dump at 10k services of 10 endpoints is tens of MB. */
const DUMP_MAX_BYTES = 1 << 30;
const CLUSTER_IP = /\b198\.19\.\d+\.\d+\b/g;
const DNAT = /(?:--to-destination|dnat to) (\d+\.\d+\.\d+\.\d+:\d+)/g;
const NFT_MAP_TARGET = /(\d+\.\d+\.\d+\.\d+) \. (\d+)/g;

/** Every DNAT target ("A:P") in the ruleset, once per rule or map element naming it. */
export function dnatTargets(text: string): string[] {
  const targets = [...text.matchAll(DNAT)].map((m) => m[1]);
  for (const line of text.split('\n')) {
    if (line.includes('dnat ip to') && line.includes(' map {')) targets.push(...[...line.matchAll(NFT_MAP_TARGET)].map((m) => `${m[1]}:${m[2]}`));
  }
  return targets;
}

export function dumpRules(netns: string, mode: ProxyMode): string {
  const cmd = mode === 'iptables' ? ['iptables-save', '-t', 'nat'] : ['nft', 'list', 'table', 'ip', 'kube-proxy'];
  try {
    return execFileSync('nsenter', [`--net=/run/netns/${netns}`, ...cmd], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: DUMP_TIMEOUT_MS, maxBuffer: DUMP_MAX_BYTES });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    // Before kube-proxy's first sync there is no table yet.
    if (mode === 'nftables' && /No such file or directory/.test(err.stderr ?? '')) return '';
    throw new Error(`${cmd.join(' ')} in ${netns}: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

export interface RulesCheck {
  /** Expected ClusterIPs that the ruleset names. */
  clusterIPs: number;
  /** DNAT targets in the ruleset (an endpoint of a service each). */
  dnatTargets: number;
}

export function checkRules(text: string, clusterIPs: string[]): RulesCheck {
  const seen = new Set(text.match(CLUSTER_IP) ?? []);
  return { clusterIPs: clusterIPs.filter((ip) => seen.has(ip)).length, dnatTargets: dnatTargets(text).length };
}

/** Whether the ruleset DNATs to `target` ("A:P"). */
export function hasTarget(text: string, target: string): boolean {
  return dnatTargets(text).includes(target);
}
