// NodePort frontends: each port's nodePort on this node's addresses, for
// NodePort and LoadBalancer services (a LoadBalancer service created with
// allocateLoadBalancerNodePorts false has none unless one was set by hand).
// nodePortAddresses selects the addresses per family, as in kube-proxy: the
// node addresses inside its CIDRs of that family, or every node address of
// the family when it lists none of that family.
import { cidrContains, cidrFamily } from '../cidr';
import { Frontend } from '../frontend';
import { IpFamily, ipFamily } from '../ip_address';
import { ModelConfig, NodeContext } from '../node';
import { ServiceType } from '../objects';
import { externalFrontend, FamilyPort } from '../service_port';

export function nodePortAddresses(node: NodeContext, config: Pick<ModelConfig, 'nodePortAddresses'>, family: IpFamily): string[] {
  const cidrs = config.nodePortAddresses.filter((c) => cidrFamily(c) === family);
  const own = node.addresses.filter((a) => ipFamily(a) === family);
  return cidrs.length === 0 ? own : own.filter((a) => cidrs.some((c) => cidrContains(c, a)));
}

export function hasNodePorts(type: ServiceType | undefined): boolean {
  return type === 'NodePort' || type === 'LoadBalancer';
}

export function nodePortFrontends(p: FamilyPort, node: NodeContext, config: ModelConfig): Frontend[] {
  const nodePort = p.sp.nodePort;
  if (!hasNodePorts(p.svc.spec.type) || nodePort === undefined) return [];
  return nodePortAddresses(node, config, p.family).map((addr) => externalFrontend(p, 'NodePort', addr, nodePort));
}
