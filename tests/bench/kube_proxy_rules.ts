// What kube-proxy programmed, read from its ruleset inside its node network
// namespace: `iptables-save -t nat` in iptables mode (with the backend that
// kube-proxy itself runs, iptablesEnv), `nft list table ip kube-proxy` in
// nftables mode. Both name each ClusterIP and each endpoint's
// DNAT target in plain text: "--to-destination A:P" in iptables; in nftables
// "dnat to A:P", or, as kube-proxy 1.37 writes a service chain, one
// "dnat ip to numgen random mod N map { 0 : A . P, ... }" per service.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** kube-proxy's peers: its two modes, and iptables mode on the legacy
 *  (x_tables) backend. The `iptables` command kube-proxy execs is Debian's
 *  alternative, iptables-nft; kube-proxy's own image chooses with
 *  iptables-wrappers, which takes nft unless kubelet's chains are in
 *  legacy, as they are on nodes whose iptables is legacy. Both are measured:
 *  their cost differs by an order of magnitude at 5k services. */
export type ProxyMode = 'iptables' | 'iptables-legacy' | 'nftables';

/** The mode kube-proxy's configuration names. */
export const configMode = (mode: ProxyMode): 'iptables' | 'nftables' => (mode === 'nftables' ? 'nftables' : 'iptables');

const LEGACY_MULTI = '/usr/sbin/xtables-legacy-multi';
const IPTABLES_COMMANDS = ['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore'];

let legacyEnv: NodeJS.ProcessEnv | undefined;

/** The environment that makes `iptables` and its kin the legacy backend for
 *  iptables-legacy (a directory of links to the legacy multi-call binary,
 *  first on PATH, as the image's wrapper would link them), made once: the
 *  rules are dumped every few ms; the caller's own for the others. */
export function iptablesEnv(mode: ProxyMode): NodeJS.ProcessEnv {
  if (mode !== 'iptables-legacy') return process.env;
  if (legacyEnv) return legacyEnv;
  if (!fs.existsSync(LEGACY_MULTI)) throw new Error(`${LEGACY_MULTI} is missing (Debian's iptables package provides it)`);
  const dir = path.join(os.tmpdir(), 'kpr-iptables-legacy');
  fs.mkdirSync(dir, { recursive: true });
  for (const cmd of IPTABLES_COMMANDS) {
    const link = path.join(dir, cmd);
    if (!fs.existsSync(link)) fs.symlinkSync(LEGACY_MULTI, link);
  }
  legacyEnv = { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` };
  return legacyEnv;
}

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
  const cmd = configMode(mode) === 'iptables' ? ['iptables-save', '-t', 'nat'] : ['nft', 'list', 'table', 'ip', 'kube-proxy'];
  try {
    return execFileSync('nsenter', [`--net=/run/netns/${netns}`, ...cmd], { encoding: 'utf8', env: iptablesEnv(mode), stdio: ['ignore', 'pipe', 'pipe'], timeout: DUMP_TIMEOUT_MS, maxBuffer: DUMP_MAX_BYTES });
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
