// NodePort frontends: each port's nodePort on the addresses that serve
// NodePorts (nodeport_addresses.ts), for NodePort and LoadBalancer services
// (a LoadBalancer service created with allocateLoadBalancerNodePorts false
// has none unless one was set by hand), and on loopback for the node's own
// processes (localhost NodePorts: the socket LB's view only, with the
// backends for traffic from this node).
import { Frontend } from '../frontend';
import { ModelConfig, NodeContext } from '../node';
import { localhostNodePortAddresses, nodePortAddresses } from '../nodeport_addresses';
import { ServiceType } from '../objects';
import { externalFrontend, FamilyPort, nodeOnlyFrontend } from '../service_port';

export function hasNodePorts(type: ServiceType | undefined): boolean {
  return type === 'NodePort' || type === 'LoadBalancer';
}

export function nodePortFrontends(p: FamilyPort, node: NodeContext, config: ModelConfig): Frontend[] {
  const nodePort = p.sp.nodePort;
  if (!hasNodePorts(p.svc.spec.type) || nodePort === undefined) return [];
  return [
    ...nodePortAddresses(node, config, p.family).map((addr) => externalFrontend(p, 'NodePort', addr, nodePort)),
    ...localhostNodePortAddresses(node, config, p.family).map((addr) => nodeOnlyFrontend(p, 'NodePort', addr, nodePort)),
  ];
}
