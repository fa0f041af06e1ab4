// LoadBalancer IPs: the ingress addresses the cloud controller reports in
// status.loadBalancer.ingress, served on the service port, with
// loadBalancerSourceRanges as their firewall (source_ranges.ts). Only "VIP"
// ingresses (ipMode unset means VIP) are taken over: a "Proxy" load balancer
// forwards to the node ports itself and does work of its own (TLS, PROXY
// protocol, its own source address), so traffic to its IP, from this node
// too, must go through it. Ingresses named only by hostname have no address
// to serve.
import { Frontend } from '../frontend';
import { ipFamily } from '../ip_address';
import { Service } from '../objects';
import { externalFrontend, FamilyPort } from '../service_port';

export function loadBalancerIPs(svc: Service): string[] {
  if (svc.spec.type !== 'LoadBalancer') return [];
  const vips = (svc.status?.loadBalancer?.ingress ?? []).filter((ing) => ing.ipMode !== 'Proxy');
  return vips.flatMap((ing) => (ing.ip === undefined ? [] : [ing.ip]));
}

export function loadBalancerFrontends(p: FamilyPort): Frontend[] {
  return loadBalancerIPs(p.svc)
    .filter((ip) => ipFamily(ip) === p.family)
    .map((ip) => externalFrontend(p, 'LoadBalancer', ip, p.sp.port));
}
