// CIDR text: loadBalancerSourceRanges in Services, nodePortAddresses in the
// config. Like addresses, ranges get one canonical spelling, so that they
// compare as strings: the canonical network address with its host bits
// cleared, then the prefix length ("198.18.7.1/16" is "198.18.0.0/16"), which
// is the range Go's net.ParseCIDR hands kube-proxy for the same text.
import { canonicalIp, ipBits, IpFamily, ipFamily, ipFromValue, ipValue } from './ip_address';

interface Cidr {
  family: IpFamily;
  network: bigint;
  prefix: number;
}

const PREFIX = /^[0-9]{1,3}$/;

function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = canonicalIp(s.slice(0, slash));
  const prefixText = s.slice(slash + 1);
  if (ip === undefined || !PREFIX.test(prefixText)) return undefined;
  const family = ipFamily(ip);
  const prefix = Number(prefixText);
  const bits = ipBits(family);
  if (prefix > bits) return undefined;
  return { family, network: ipValue(ip) & networkMask(bits, prefix), prefix };
}

/** The bits of an address that belong to the network, as a mask. */
function networkMask(bits: number, prefix: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return all ^ ((1n << BigInt(bits - prefix)) - 1n);
}

/** The canonical spelling of s, or undefined if s is not a CIDR. */
export function canonicalCidr(s: string): string | undefined {
  const c = parseCidr(s);
  return c && `${ipFromValue(c.network, c.family)}/${c.prefix}`;
}

/** Family of a canonical CIDR. */
export function cidrFamily(canonical: string): IpFamily {
  return ipFamily(canonical.slice(0, canonical.indexOf('/')));
}

/** Whether every address of the canonical CIDR inner lies in outer. */
export function cidrWithin(inner: string, outer: string): boolean {
  const i = parseCidr(inner);
  const o = parseCidr(outer);
  if (!i || !o) throw new Error(`${JSON.stringify(i ? outer : inner)} is not a CIDR`);
  return i.family === o.family && i.prefix >= o.prefix && (i.network & networkMask(ipBits(o.family), o.prefix)) === o.network;
}

/** Whether a canonical address lies in a CIDR; an address of the other
 *  family never does. The CIDR must be valid: sources and config check
 *  theirs with canonicalCidr, so an invalid one here is a bug. */
export function cidrContains(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  if (!c) throw new Error(`${JSON.stringify(cidr)} is not a CIDR`);
  if (ipFamily(ip) !== c.family) return false;
  return (ipValue(ip) & networkMask(ipBits(c.family), c.prefix)) === c.network;
}
