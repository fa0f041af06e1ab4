// ClusterIP frontends. Every service type except ExternalName has cluster
// IPs (NodePort and LoadBalancer build on a ClusterIP service); a headless
// service ("None") has none and is resolved by DNS, not proxied. Dual-stack
// services list one IP per family in clusterIPs; clusterIP alone is the
// single-stack form.
import { portBackends } from '../backends';
import { Frontend } from '../frontend';
import { ipFamily } from '../ip_address';
import { slicesOfFamily } from '../ip_family';
import { EndpointSlice, objectName, Service, ServiceSpec } from '../objects';
import { protocolOf } from '../protocol';
import { affinityTimeout } from '../session_affinity';

export const HEADLESS = 'None';

export function clusterIPs(spec: ServiceSpec): string[] {
  if (spec.type === 'ExternalName') return [];
  const ips = spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : [spec.clusterIP ?? ''];
  return ips.filter((ip) => ip !== '' && ip !== HEADLESS);
}

export function clusterIpFrontends(svc: Service, slices: EndpointSlice[]): Frontend[] {
  const serviceName = objectName(svc.metadata);
  const timeout = affinityTimeout(svc.spec);
  return clusterIPs(svc.spec).flatMap((addr) => {
    const familySlices = slicesOfFamily(slices, ipFamily(addr));
    return (svc.spec.ports ?? []).map((sp) => ({
      addr,
      port: sp.port,
      proto: protocolOf(sp.protocol),
      serviceName,
      portName: sp.name ?? '',
      affinityTimeout: timeout,
      backends: portBackends(sp, familySlices),
    }));
  });
}
