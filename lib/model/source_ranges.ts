// loadBalancerSourceRanges: the clients allowed to reach a service's
// LoadBalancer IPs, as kube-proxy applies them: to LoadBalancer IPs only (not
// to the same service's node ports or external IPs), and per family, so a
// family none of whose ranges is of it is open to all of that family.
// --bpf-lb-source-range-all-types (Cilium's name) extends them to the
// service's node ports and external IPs, which would otherwise let any client
// around the ranges by sending to a node address instead of the LB IP.
import { cidrContains, cidrFamily } from './cidr';
import { Frontend, FrontendKind } from './frontend';
import { IpFamily } from './ip_address';
import { NodeContext } from './node';
import { ServiceSpec } from './objects';
import { compareStrings } from './order';

/** The canonical ranges of one family, sorted and unique; empty: all. */
export function sourceRanges(spec: ServiceSpec, family: IpFamily): string[] {
  const ranges = (spec.loadBalancerSourceRanges ?? []).filter((r) => cidrFamily(r) === family);
  return [...new Set(ranges)].sort(compareStrings);
}

/** The ranges that guard one frontend of a service: a LoadBalancer IP's
 *  always; the node ports' and external IPs' of a LoadBalancer service only
 *  when allTypes (--bpf-lb-source-range-all-types); never a cluster IP's,
 *  which in-cluster clients reach. */
export function frontendSourceRanges(spec: ServiceSpec, kind: FrontendKind, family: IpFamily, allTypes: boolean): string[] {
  if (kind === 'LoadBalancer' || (allTypes && kind !== 'ClusterIP' && spec.type === 'LoadBalancer')) return sourceRanges(spec, family);
  return [];
}

/** Whether traffic from this node itself may use the frontend. The socket
 *  LB cannot tell a pod's source address at connect() time, so it decides
 *  for the node as a whole, by kube-proxy's exception for the node: a range
 *  that holds a node address lets the node in (a VIP routed back to the
 *  node would otherwise be unreachable from its own backends). When no range
 *  holds one, the socket LB leaves the frontend alone and such connections
 *  go out to the real load balancer, which applies the ranges itself. */
export function nodeMayUse(f: Frontend, node: NodeContext): boolean {
  return f.sourceRanges.length === 0 || f.sourceRanges.some((r) => node.addresses.some((a) => cidrContains(r, a)));
}
