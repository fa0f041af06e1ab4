// External IPs: addresses the cluster does not manage that an administrator
// routes to the nodes, served on the service port by any service type that
// has cluster IPs. Traffic to them counts as external, so
// externalTrafficPolicy applies even to a plain ClusterIP service.
import { Frontend } from '../frontend';
import { ipFamily } from '../ip_address';
import { externalFrontend, FamilyPort } from '../service_port';

export function externalIpFrontends(p: FamilyPort): Frontend[] {
  return (p.svc.spec.externalIPs ?? []).filter((ip) => ipFamily(ip) === p.family).map((ip) => externalFrontend(p, 'ExternalIP', ip, p.sp.port));
}
