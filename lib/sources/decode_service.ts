// Validation of a v1 Service, following the API server's rules for the
// fields the proxy reads, so that a manifest is refused for the same reasons
// kubectl apply would refuse it.
import { cidrContains } from '../model/cidr';
import { IP_FAMILIES, ipFamily } from '../model/ip_address';
import {
  LOAD_BALANCER_IP_MODES,
  ObjectMeta,
  Service,
  SERVICE_TYPES,
  ServicePort,
  ServiceSpec,
  ServiceStatus,
  ServiceType,
  SESSION_AFFINITIES,
  TRAFFIC_POLICIES,
} from '../model/objects';
import { PROTOCOLS, protocolOf } from '../model/protocol';
import { HEADLESS } from '../model/service_types/clusterip';
import { hasNodePorts } from '../model/service_types/nodeport';
import { MAX_AFFINITY_TIMEOUT_SECONDS } from '../model/session_affinity';
import { needsHealthCheck } from '../model/traffic_policy';
import { FieldReader, Json } from './field_reader';

function clusterIpValue(r: FieldReader, v: unknown, field: string): string | undefined {
  const s = r.string(v, field);
  return s === '' || s === HEADLESS ? s : r.ip(s, field);
}

function clusterIpList(r: FieldReader, v: unknown, clusterIP: string | undefined): string[] | undefined {
  const list = r.array(v, 'spec.clusterIPs')?.map((ip, i) => r.required(clusterIpValue(r, ip, `spec.clusterIPs[${i}]`), `spec.clusterIPs[${i}]`));
  if (!list || list.length === 0) return list;
  if (list.length > 2) r.fail('spec.clusterIPs', `may hold at most one address per family, got ${list.length}`);
  list.forEach((ip, i) => {
    if (ip === '') r.fail(`spec.clusterIPs[${i}]`, 'must not be empty');
    if (ip === HEADLESS && list.length > 1) r.fail(`spec.clusterIPs[${i}]`, `"${HEADLESS}" must be the only entry`);
  });
  if (list.length === 2 && ipFamily(list[0]) === ipFamily(list[1])) {
    r.fail('spec.clusterIPs[1]', 'must be of the other IP family than spec.clusterIPs[0]');
  }
  if (clusterIP && clusterIP !== list[0]) r.fail('spec.clusterIPs[0]', `must match spec.clusterIP (${clusterIP})`);
  return list;
}

function checkIpFamilies(r: FieldReader, v: unknown, clusterIPs: string[] | undefined): void {
  const families = r.array(v, 'spec.ipFamilies')?.map((f, i) => r.required(r.oneOf(f, `spec.ipFamilies[${i}]`, IP_FAMILIES), `spec.ipFamilies[${i}]`));
  if (!families) return;
  if (families.length > 2) r.fail('spec.ipFamilies', `may hold at most one entry per family, got ${families.length}`);
  if (families.length === 2 && families[0] === families[1]) r.fail('spec.ipFamilies[1]', `duplicate family ${families[1]}`);
  // The families say which cluster IP is which; they must agree.
  clusterIPs?.forEach((ip, i) => {
    if (ip !== HEADLESS && families[i] !== undefined && families[i] !== ipFamily(ip)) {
      r.fail(`spec.ipFamilies[${i}]`, `is ${families[i]}, but spec.clusterIPs[${i}] (${ip}) is ${ipFamily(ip)}`);
    }
  });
}

function servicePorts(r: FieldReader, v: unknown, type: ServiceType | undefined): ServicePort[] | undefined {
  const items = r.array(v, 'spec.ports');
  if (!items) return undefined;
  const names = new Set<string>();
  const numbers = new Set<string>();
  const nodePorts = new Set<string>();
  return items.map((item, i) => {
    const at = `spec.ports[${i}]`;
    const p = r.required(r.object(item, at), at);
    const port: ServicePort = {
      name: r.portName(p.name, `${at}.name`),
      protocol: r.oneOf(p.protocol, `${at}.protocol`, PROTOCOLS),
      port: r.required(r.integer(p.port, `${at}.port`, 1, 65535), `${at}.port`),
      nodePort: r.integer(p.nodePort, `${at}.nodePort`, 1, 65535),
    };
    // Endpoint ports are found by name, so names must tell ports apart.
    if (items.length > 1 && !port.name) r.fail(`${at}.name`, 'is required when the service has more than one port');
    if (port.name && names.has(port.name)) r.fail(`${at}.name`, `duplicate name "${port.name}"`);
    const number = `${port.port}/${protocolOf(port.protocol)}`;
    if (numbers.has(number)) r.fail(at, `duplicate port ${number}`);
    if (port.nodePort !== undefined) {
      if (!hasNodePorts(type)) r.fail(`${at}.nodePort`, `may not be used when spec.type is ${type ?? 'ClusterIP'}`);
      const nodePort = `${port.nodePort}/${protocolOf(port.protocol)}`;
      if (nodePorts.has(nodePort)) r.fail(`${at}.nodePort`, `duplicate nodePort ${nodePort}`);
      nodePorts.add(nodePort);
    }
    names.add(port.name ?? '');
    numbers.add(number);
    return port;
  });
}

// Addresses the API refuses as external IPs: taking them over would hijack
// the node's own loopback and link-local traffic.
const SPECIAL_RANGES: [string, string][] = [
  ['0.0.0.0/32', 'unspecified'],
  ['::/128', 'unspecified'],
  ['127.0.0.0/8', 'loopback'],
  ['::1/128', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['fe80::/10', 'link-local'],
  ['224.0.0.0/24', 'link-local multicast'],
  ['ff02::/16', 'link-local multicast'],
];

function externalIPs(r: FieldReader, v: unknown): string[] | undefined {
  return r.array(v, 'spec.externalIPs')?.map((item, i) => {
    const at = `spec.externalIPs[${i}]`;
    const ip = r.required(r.ip(item, at), at);
    const special = SPECIAL_RANGES.find(([cidr]) => cidrContains(cidr, ip));
    if (special) r.fail(at, `${ip} is ${special[1]} (${special[0]})`);
    return ip;
  });
}

function sourceRanges(r: FieldReader, v: unknown, type: ServiceType | undefined): string[] | undefined {
  const ranges = r.array(v, 'spec.loadBalancerSourceRanges');
  if (ranges && ranges.length > 0 && type !== 'LoadBalancer') r.fail('spec.loadBalancerSourceRanges', 'may only be used when spec.type is LoadBalancer');
  // The API accepts ranges padded with spaces; kube-proxy trims them.
  return ranges?.map((item, i) => {
    const at = `spec.loadBalancerSourceRanges[${i}]`;
    const text = r.required(r.string(item, at), at);
    return r.required(r.cidr(text.trim(), at), at);
  });
}

function checkHealthCheckNodePort(r: FieldReader, spec: ServiceSpec): void {
  if (spec.healthCheckNodePort !== undefined && !needsHealthCheck(spec)) {
    r.fail('spec.healthCheckNodePort', 'may only be set when spec.type is LoadBalancer and spec.externalTrafficPolicy is Local');
  }
}

function status(r: FieldReader, v: unknown): ServiceStatus | undefined {
  const st = r.object(v, 'status');
  const lb = r.object(st?.loadBalancer, 'status.loadBalancer');
  const ingress = r.array(lb?.ingress, 'status.loadBalancer.ingress')?.map((item, i) => {
    const at = `status.loadBalancer.ingress[${i}]`;
    const ing = r.required(r.object(item, at), at);
    const ip = r.ip(ing.ip, `${at}.ip`);
    const ipMode = r.oneOf(ing.ipMode, `${at}.ipMode`, LOAD_BALANCER_IP_MODES);
    if (ipMode !== undefined && ip === undefined) r.fail(`${at}.ipMode`, 'may only be set together with ip');
    return { ip, ipMode };
  });
  return st && { loadBalancer: lb && { ingress } };
}

export function decodeService(r: FieldReader, metadata: ObjectMeta, doc: Json): Service {
  const spec = r.object(doc.spec, 'spec') ?? {};
  const type = r.oneOf(spec.type, 'spec.type', SERVICE_TYPES);
  const clusterIP = clusterIpValue(r, spec.clusterIP, 'spec.clusterIP');
  const clusterIPs = clusterIpList(r, spec.clusterIPs, clusterIP);
  checkIpFamilies(r, spec.ipFamilies, clusterIPs ?? (clusterIP ? [clusterIP] : undefined));
  const affinityConfig = r.object(spec.sessionAffinityConfig, 'spec.sessionAffinityConfig');
  const clientIP = r.object(affinityConfig?.clientIP, 'spec.sessionAffinityConfig.clientIP');
  const timeoutSeconds = r.integer(
    clientIP?.timeoutSeconds,
    'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
    1,
    MAX_AFFINITY_TIMEOUT_SECONDS,
  );
  const decoded: ServiceSpec = {
    type,
    clusterIP,
    clusterIPs,
    ports: servicePorts(r, spec.ports, type),
    sessionAffinity: r.oneOf(spec.sessionAffinity, 'spec.sessionAffinity', SESSION_AFFINITIES),
    sessionAffinityConfig: timeoutSeconds === undefined ? undefined : { clientIP: { timeoutSeconds } },
    externalIPs: externalIPs(r, spec.externalIPs),
    loadBalancerSourceRanges: sourceRanges(r, spec.loadBalancerSourceRanges, type),
    externalTrafficPolicy: r.oneOf(spec.externalTrafficPolicy, 'spec.externalTrafficPolicy', TRAFFIC_POLICIES),
    internalTrafficPolicy: r.oneOf(spec.internalTrafficPolicy, 'spec.internalTrafficPolicy', TRAFFIC_POLICIES),
    healthCheckNodePort: r.integer(spec.healthCheckNodePort, 'spec.healthCheckNodePort', 1, 65535),
  };
  checkHealthCheckNodePort(r, decoded);
  return { metadata, spec: decoded, status: status(r, doc.status) };
}
