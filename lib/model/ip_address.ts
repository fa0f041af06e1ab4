// IP address text. Addresses are compared as strings everywhere downstream
// (model, plan, maps read back), so every address is brought to one canonical
// spelling first: dotted quad for IPv4, RFC 5952 for IPv6 (lowercase, no
// leading zeros, the longest run of two or more zero groups as "::"), which
// is also what inet_ntop prints for the addresses a service can have.
import { isIPv4 } from 'net';

export const IP_FAMILIES = ['IPv4', 'IPv6'] as const;
export type IpFamily = (typeof IP_FAMILIES)[number];

const COLON = 0x3a;
const DOT = 0x2e;

/** The value of a hex digit's character code; -1 for any other character. */
function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
}

/** The eight groups of an IPv6 address, or undefined. Read a character at a
 *  time: every endpoint's address passes here, a million of them at 100k
 *  services, where splitting and matching each group cost seconds. */
function ipv6Groups(s: string): number[] | undefined {
  const groups: number[] = [];
  /** Where "::" stands among the groups; -1: nowhere. */
  let gap = -1;
  let i = 0;
  if (s.startsWith('::')) {
    gap = 0;
    i = 2;
  }
  while (i < s.length) {
    const start = i;
    let value = 0;
    for (let d = hexDigit(s.charCodeAt(i)); d >= 0 && i < s.length; d = hexDigit(s.charCodeAt(++i))) value = value * 16 + d;
    // An embedded IPv4 suffix stands for the last two groups.
    if (s.charCodeAt(i) === DOT) {
      const v4 = s.slice(start);
      if (!isIPv4(v4)) return undefined;
      const o = v4.split('.').map(Number);
      groups.push((o[0] << 8) | o[1], (o[2] << 8) | o[3]);
      break;
    }
    if (i === start || i - start > 4) return undefined;
    groups.push(value);
    if (i === s.length) break;
    if (s.charCodeAt(i) !== COLON || i + 1 === s.length) return undefined;
    i++;
    if (s.charCodeAt(i) === COLON) {
      if (gap >= 0) return undefined;
      gap = groups.length;
      i++;
    }
  }
  if (gap < 0) return groups.length === 8 ? groups : undefined;
  if (groups.length > 7) return undefined;
  const zeros = 8 - groups.length;
  for (let k = 0; k < zeros; k++) groups.push(0);
  for (let k = 7; k >= gap + zeros; k--) groups[k] = groups[k - zeros];
  for (let k = gap; k < gap + zeros; k++) groups[k] = 0;
  return groups;
}

/** Groups from..to - 1, colon-separated. */
function joinGroups(g: number[], from: number, to: number): string {
  let out = '';
  for (let i = from; i < to; i++) out += i === from ? g[i].toString(16) : `:${g[i].toString(16)}`;
  return out;
}

function formatIpv6(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; i++) {
    if (g[i] !== 0) continue;
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  return best < 0 ? joinGroups(g, 0, 8) : `${joinGroups(g, 0, best)}::${joinGroups(g, best + bestLen, 8)}`;
}

/** The canonical spelling of s, or undefined if s is not an address a
 *  service or endpoint can have. Zone ids and IPv4-mapped IPv6 addresses are
 *  refused: Kubernetes treats the latter as IPv4, the datapath could not. */
export function canonicalIp(s: string): string | undefined {
  if (!s.includes(':')) return isIPv4(s) ? s : undefined;
  const g = ipv6Groups(s);
  if (!g) return undefined;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) return undefined;
  return formatIpv6(g);
}

/** addr canonical; as given when it is no IP address (what the addon hands
 *  back always is one). */
export function canonicalAddr(addr: string): string {
  return canonicalIp(addr) ?? addr;
}

/** Family of a canonical address. */
export function ipFamily(canonical: string): IpFamily {
  return canonical.includes(':') ? 'IPv6' : 'IPv4';
}

/** "addr:port", with brackets around IPv6 addresses. */
export function formatAddrPort(addr: string, port: number): string {
  return ipFamily(addr) === 'IPv6' ? `[${addr}]:${port}` : `${addr}:${port}`;
}

/** Address length in bits. */
export function ipBits(family: IpFamily): number {
  return family === 'IPv4' ? 32 : 128;
}

/** A canonical address as a number, for prefix arithmetic. */
export function ipValue(canonical: string): bigint {
  const v4 = ipFamily(canonical) === 'IPv4';
  const parts = v4 ? canonical.split('.').map(Number) : (ipv6Groups(canonical) ?? []);
  const width = v4 ? 8n : 16n;
  return parts.reduce((v, p) => (v << width) | BigInt(p), 0n);
}

/** The canonical spelling of an address given as a number. */
export function ipFromValue(value: bigint, family: IpFamily): string {
  const [count, width] = family === 'IPv4' ? [4, 8] : [8, 16];
  const mask = (1n << BigInt(width)) - 1n;
  const parts = Array.from({ length: count }, (_, i) => Number((value >> BigInt(width * (count - 1 - i))) & mask));
  return family === 'IPv4' ? parts.join('.') : formatIpv6(parts);
}

/** A string that sorts canonical addresses numerically, IPv4 before IPv6. */
export function ipSortKey(canonical: string): string {
  const family = ipFamily(canonical);
  return `${family === 'IPv4' ? 4 : 6}${ipValue(canonical).toString(16).padStart(ipBits(family) / 4, '0')}`;
}
