// The addresses that serve NodePorts, chosen as kube-proxy chooses them
// (pkg/proxy/util/nodeport_addresses.go, the iptables and nftables proxiers
// that use it, and cmd/kube-proxy's keywords):
// - The candidates are the addresses of the node's interfaces, not only the
//   Node object's. kpr keeps the Node's addresses among them too: the socket
//   LB serves the node's own connections to them, and a Node address on no
//   interface of this namespace still names this node.
// - nodePortAddresses (--nodeport-addresses) holds CIDRs and keywords:
//   "primary" (the Node's first address of each family, InternalIP before
//   ExternalIP, as a /32 or /128), "localhost" (127.0.0.0/8 and ::1/128) and
//   "all" (0.0.0.0/0 and ::/0). kube-proxy expands them once at start and
//   restarts when the Node's addresses change; kpr expands them at every
//   sync, so "primary" follows the Node.
// - Each family on its own: the candidates inside the CIDRs of that family;
//   a family that none of the CIDRs is of is served on all its candidates.
//   The default, an empty list, is kube-proxy's "all" (iptables mode; its
//   nftables mode defaults to "primary", see kubeproxy_config.ts).
// - Loopback is apart (localhostNodePortAddresses): kube-proxy's iptables
//   mode serves NodePorts on 127.0.0.1 to the node's own processes
//   (localhostNodePorts, on by default; it turns on route_localnet), its
//   nftables mode never. kpr serves 127.0.0.1 and ::1 in the socket LB alone,
//   in the node's network namespace alone (in a pod's, loopback is the
//   pod's own), when the family's selection takes them in: all addresses,
//   "localhost", or a CIDR around them. Loopback traffic never reaches XDP.
// - Never on IPv6 link-local addresses (fe80::/10), which kube-proxy's rules
//   match: a frontend is keyed by its address alone, and a link-local
//   address means something only with its interface (every pod's veth has
//   one, so every NodePort would get one frontend per pod).
import { canonicalCidr, cidrContains, cidrFamily, cidrWithin } from './cidr';
import { IP_FAMILIES, ipBits, IpFamily, ipFamily } from './ip_address';
import { ModelConfig, NodeContext } from './node';

export const NODEPORT_ADDRESS_KEYWORDS = ['primary', 'localhost', 'all'] as const;
type Keyword = (typeof NODEPORT_ADDRESS_KEYWORDS)[number];

const LOOPBACK = ['127.0.0.0/8', '::1/128'];
const NEVER_SERVED = [...LOOPBACK, 'fe80::/10'];
const ALL = ['0.0.0.0/0', '::/0'];

const isKeyword = (entry: string): entry is Keyword => (NODEPORT_ADDRESS_KEYWORDS as readonly string[]).includes(entry);

export type ParsedNodePortAddresses = { entries: string[] } | { index: number; problem: string };

/** The entries as kube-proxy validates them: each a CIDR (made canonical)
 *  or a keyword, no keyword twice; else the first bad entry and why. */
export function parseNodePortAddresses(texts: string[]): ParsedNodePortAddresses {
  const entries: string[] = [];
  for (const [index, text] of texts.entries()) {
    const entry = isKeyword(text) ? text : canonicalCidr(text);
    if (entry === undefined) return { index, problem: `${JSON.stringify(text)} is not a CIDR nor one of the keywords ${NODEPORT_ADDRESS_KEYWORDS.join(', ')}` };
    if (isKeyword(entry) && entries.includes(entry)) return { index, problem: `${JSON.stringify(text)} is given twice` };
    entries.push(entry);
  }
  return { entries };
}

/** One line for each entry that can select only loopback addresses while
 *  localhost NodePorts are off: it selects nothing. */
export function nodePortAddressWarnings(entries: string[], localhostNodePorts: boolean): string[] {
  if (localhostNodePorts) return [];
  return entries
    .filter((e) => e === 'localhost' || (!isKeyword(e) && LOOPBACK.some((l) => cidrWithin(e, l))))
    .map((e) => `nodePortAddresses: ${e} selects loopback addresses only, and localhost NodePorts are off (--iptables-localhost-nodeports): it selects nothing`);
}

/** The CIDRs the entries stand for on this node. */
function expand(entries: string[], node: NodeContext): string[] {
  return entries.flatMap((e) => {
    switch (e) {
      case 'primary':
        return IP_FAMILIES.flatMap((family) => {
          const primary = node.addresses.find((a) => ipFamily(a) === family);
          return primary === undefined || isLoopback(primary) ? [] : [`${primary}/${ipBits(family)}`];
        });
      case 'localhost':
        return LOOPBACK;
      case 'all':
        return ALL;
      default:
        return [e];
    }
  });
}

/** 127.0.0.0/8 or ::1: in any network namespace, that namespace itself. */
export const isLoopback = (ip: string) => LOOPBACK.some((c) => cidrContains(c, ip));
const servable = (ip: string) => !NEVER_SERVED.some((c) => cidrContains(c, ip));

interface Selection {
  entries: string[];
  /** loopback: the family's entries take in LOOPBACK_ADDRESS. */
  byFamily: Record<IpFamily, { addresses: string[]; all: boolean; loopback: boolean }>;
}

/** The one loopback address of each family that localhost NodePorts use, as clients name it. */
const LOOPBACK_ADDRESS: Record<IpFamily, string> = { IPv4: '127.0.0.1', IPv6: '::1' };

/** Every frontend of every NodePort service asks; the answer changes only
 *  with the node (a new object whenever it changes) or the config. */
const selections = new WeakMap<NodeContext, Selection>();

function select(node: NodeContext, entries: string[]): Selection {
  const cached = selections.get(node);
  if (cached?.entries === entries) return cached;
  const cidrs = expand(entries, node);
  const candidates = [...new Set([...node.addresses, ...node.interfaceAddresses])].filter(servable);
  const family = (f: IpFamily) => {
    const own = cidrs.filter((c) => cidrFamily(c) === f);
    const all = own.length === 0 || own.some((c) => c.endsWith('/0'));
    const takes = (a: string) => all || own.some((c) => cidrContains(c, a));
    return { addresses: candidates.filter((a) => ipFamily(a) === f && takes(a)), all, loopback: takes(LOOPBACK_ADDRESS[f]) };
  };
  const selection = { entries, byFamily: { IPv4: family('IPv4'), IPv6: family('IPv6') } };
  selections.set(node, selection);
  return selection;
}

/** The addresses of one family that serve NodePorts: the Node's first, then the interfaces'. */
export function nodePortAddresses(node: NodeContext, config: Pick<ModelConfig, 'nodePortAddresses'>, family: IpFamily): string[] {
  return select(node, config.nodePortAddresses).byFamily[family].addresses;
}

/** The loopback address of the family when it serves NodePorts to the
 *  node's own processes (localhost NodePorts), else none. */
export function localhostNodePortAddresses(node: NodeContext, config: Pick<ModelConfig, 'nodePortAddresses' | 'localhostNodePorts'>, family: IpFamily): string[] {
  return config.localhostNodePorts && select(node, config.nodePortAddresses).byFamily[family].loopback ? [LOOPBACK_ADDRESS[family]] : [];
}

/** Where the healthCheckNodePort servers listen, as kube-proxy's: every
 *  address when no family is narrowed, else the NodePort addresses. */
export function healthCheckHosts(node: NodeContext, config: Pick<ModelConfig, 'nodePortAddresses'>): string[] | 'all' {
  const { IPv4, IPv6 } = select(node, config.nodePortAddresses).byFamily;
  return IPv4.all && IPv6.all ? 'all' : [...IPv4.addresses, ...IPv6.addresses];
}
