// ClusterIP frontends. Every service type except ExternalName has cluster
// IPs (NodePort and LoadBalancer build on a ClusterIP service); a headless
// service ("None") has none and is resolved by DNS, not proxied. Dual-stack
// services list one IP per family in clusterIPs; clusterIP alone is the
// single-stack form.
// With --bpf-lb-external-clusterip, the edge LB serves a ClusterIP as well to
// clients outside the node that route it there (kube-proxy's behaviour: its
// rules match a ClusterIP from any source; Cilium's bpf.lbExternalClusterIP).
import { Frontend } from '../frontend';
import { ServiceSpec } from '../objects';
import { FamilyPort, internalFrontend, routedClusterIp } from '../service_port';

export const HEADLESS = 'None';

export function clusterIPs(spec: ServiceSpec): string[] {
  if (spec.type === 'ExternalName') return [];
  const ips = spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP ?? ''];
  return ips.filter((ip) => ip !== '' && ip !== HEADLESS);
}

export function clusterIpFrontends(p: FamilyPort): Frontend[] {
  return [p.routed ? routedClusterIp(p, p.routed) : internalFrontend(p, p.clusterIP)];
}
