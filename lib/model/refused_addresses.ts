// The addresses whose connections are refused when no frontend takes them,
// as kube-proxy's nftables mode rejects them: the service CIDRs (ServiceCIDR
// objects: an address there that no service holds), and every ClusterIP (a
// port the service does not serve), whether or not a ServiceCIDR covers it
// (standalone manifests name none). Elsewhere a connection no frontend takes
// goes its way untouched: the node's own addresses, pods, the world.
// kube-proxy drops what goes to an unallocated address of a service CIDR and
// rejects only a ClusterIP's other ports; kpr refuses both, so that a client
// learns at once instead of after its timeout.
//
// A proxy that serves only the Services labelled with its name
// (--service-proxy-name) shares the service CIDRs with the proxy that serves
// the rest: it refuses its own ClusterIPs' other ports alone, never the
// CIDRs, where the other proxy's services live.
import { Frontend } from './frontend';
import { ipBits, ipFamily } from './ip_address';

/** Canonical CIDRs, sorted, each once; a ClusterIP as a /32 or /128.
 *  ownsServiceCidrs: this proxy serves every Service without a proxy name. */
export function refusedRanges(serviceCidrs: readonly string[], frontends: readonly Frontend[], ownsServiceCidrs: boolean): string[] {
  const clusterIPs = frontends.filter((f) => f.kind === 'ClusterIP').map((f) => `${f.addr}/${ipBits(ipFamily(f.addr))}`);
  return [...new Set([...(ownsServiceCidrs ? serviceCidrs : []), ...clusterIPs])].sort();
}
