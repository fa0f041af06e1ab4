// Validation of a v1 Service, following the API server's rules for the
// fields the proxy reads, so that a manifest is refused for the same reasons
// kubectl apply would refuse it.
import { ipFamily } from '../model/ip_address';
import { ObjectMeta, Service, SERVICE_TYPES, ServicePort, SESSION_AFFINITIES } from '../model/objects';
import { PROTOCOLS } from '../model/protocol';
import { HEADLESS } from '../model/service_types/clusterip';
import { MAX_AFFINITY_TIMEOUT_SECONDS } from '../model/session_affinity';
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

function servicePorts(r: FieldReader, v: unknown): ServicePort[] | undefined {
  const items = r.array(v, 'spec.ports');
  if (!items) return undefined;
  const names = new Set<string>();
  const numbers = new Set<string>();
  return items.map((item, i) => {
    const at = `spec.ports[${i}]`;
    const p = r.required(r.object(item, at), at);
    const port: ServicePort = {
      name: r.string(p.name, `${at}.name`),
      protocol: r.oneOf(p.protocol, `${at}.protocol`, PROTOCOLS),
      port: r.required(r.integer(p.port, `${at}.port`, 1, 65535), `${at}.port`),
    };
    // Endpoint ports are found by name, so names must tell ports apart.
    if (items.length > 1 && !port.name) r.fail(`${at}.name`, 'is required when the service has more than one port');
    if (port.name && names.has(port.name)) r.fail(`${at}.name`, `duplicate name "${port.name}"`);
    const number = `${port.port}/${port.protocol ?? 'TCP'}`;
    if (numbers.has(number)) r.fail(at, `duplicate port ${number}`);
    names.add(port.name ?? '');
    numbers.add(number);
    return port;
  });
}

export function decodeService(r: FieldReader, metadata: ObjectMeta, doc: Json): Service {
  const spec = r.object(doc.spec, 'spec') ?? {};
  const clusterIP = clusterIpValue(r, spec.clusterIP, 'spec.clusterIP');
  const affinityConfig = r.object(spec.sessionAffinityConfig, 'spec.sessionAffinityConfig');
  const clientIP = r.object(affinityConfig?.clientIP, 'spec.sessionAffinityConfig.clientIP');
  const timeoutSeconds = r.integer(
    clientIP?.timeoutSeconds,
    'spec.sessionAffinityConfig.clientIP.timeoutSeconds',
    1,
    MAX_AFFINITY_TIMEOUT_SECONDS,
  );
  return {
    metadata,
    spec: {
      type: r.oneOf(spec.type, 'spec.type', SERVICE_TYPES),
      clusterIP,
      clusterIPs: clusterIpList(r, spec.clusterIPs, clusterIP),
      ports: servicePorts(r, spec.ports),
      sessionAffinity: r.oneOf(spec.sessionAffinity, 'spec.sessionAffinity', SESSION_AFFINITIES),
      sessionAffinityConfig: timeoutSeconds === undefined ? undefined : { clientIP: { timeoutSeconds } },
    },
  };
}
