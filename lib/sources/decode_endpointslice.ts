// Validation of a discovery.k8s.io/v1 EndpointSlice: addresses must be of
// the slice's addressType, ports, conditions and hints of their API types.
import { ADDRESS_TYPES, AddressType, Endpoint, EndpointConditions, EndpointHints, EndpointPort, EndpointSlice, ObjectMeta } from '../model/objects';
import { PROTOCOLS } from '../model/protocol';
import { FieldReader, Json, shown } from './field_reader';

function address(r: FieldReader, v: unknown, field: string, type: AddressType): string {
  const a = type === 'FQDN' ? r.string(v, field) : r.ip(v, field, type);
  return r.required(a, field);
}

function hintNames(r: FieldReader, v: unknown, field: string): { name: string }[] | undefined {
  return r.array(v, field)?.map((item, i) => {
    const at = `${field}[${i}]`;
    return { name: r.required(r.string(r.required(r.object(item, at), at).name, `${at}.name`), `${at}.name`) };
  });
}

function hints(r: FieldReader, v: unknown, at: string): EndpointHints | undefined {
  const h = r.object(v, at);
  return h && { forZones: hintNames(r, h.forZones, `${at}.forZones`), forNodes: hintNames(r, h.forNodes, `${at}.forNodes`) };
}

/** Endpoints share their conditions: a node holds 100k endpoints or more,
 *  and their conditions take a handful of values. */
const SHARED_CONDITIONS = new Map<string, EndpointConditions>();

function shared(c: EndpointConditions): EndpointConditions {
  const key = `${c.ready} ${c.serving} ${c.terminating}`;
  let found = SHARED_CONDITIONS.get(key);
  if (!found) SHARED_CONDITIONS.set(key, (found = Object.freeze(c)));
  return found;
}

function endpoint(r: FieldReader, v: unknown, at: string, type: AddressType): Endpoint {
  const ep = r.required(r.object(v, at), at);
  const addresses = r.required(r.array(ep.addresses, `${at}.addresses`), `${at}.addresses`);
  if (addresses.length === 0) r.fail(`${at}.addresses`, 'must hold at least one address');
  const conditions = r.object(ep.conditions, `${at}.conditions`);
  return {
    address: addresses.map((a, j) => address(r, a, `${at}.addresses[${j}]`, type))[0],
    conditions:
      conditions &&
      shared({
        ready: r.boolean(conditions.ready, `${at}.conditions.ready`),
        serving: r.boolean(conditions.serving, `${at}.conditions.serving`),
        terminating: r.boolean(conditions.terminating, `${at}.conditions.terminating`),
      }),
    nodeName: r.string(ep.nodeName, `${at}.nodeName`),
    hints: hints(r, ep.hints, `${at}.hints`),
  };
}

function endpointPort(r: FieldReader, v: unknown, at: string): EndpointPort {
  const p = r.required(r.object(v, at), at);
  return {
    name: r.portName(p.name, `${at}.name`),
    protocol: r.oneOf(p.protocol, `${at}.protocol`, PROTOCOLS),
    port: r.integer(p.port, `${at}.port`, 1, 65535),
  };
}

/** The API server's limits on one slice. */
const MAX_ENDPOINTS = 1000;
const MAX_PORTS = 100;

function endpointPorts(r: FieldReader, v: unknown): EndpointPort[] | undefined {
  const items = r.array(v, 'ports');
  if (items && items.length > MAX_PORTS) r.fail('ports', `may hold at most ${MAX_PORTS} entries, got ${items.length}`);
  // Backends are matched to service ports by name: two of one name would be ambiguous.
  const names = new Set<string>();
  return items?.map((p, i) => {
    const port = endpointPort(r, p, `ports[${i}]`);
    const name = port.name ?? '';
    if (names.has(name)) r.fail(`ports[${i}].name`, `duplicate name ${shown(name)}`);
    names.add(name);
    return port;
  });
}

export function decodeEndpointSlice(r: FieldReader, metadata: ObjectMeta, doc: Json): EndpointSlice {
  const addressType = r.required(r.oneOf(doc.addressType, 'addressType', ADDRESS_TYPES), 'addressType');
  const endpoints = r.array(doc.endpoints, 'endpoints') ?? [];
  if (endpoints.length > MAX_ENDPOINTS) r.fail('endpoints', `may hold at most ${MAX_ENDPOINTS} entries, got ${endpoints.length}`);
  return {
    metadata,
    addressType,
    endpoints: endpoints.map((e, i) => endpoint(r, e, `endpoints[${i}]`, addressType)),
    ports: endpointPorts(r, doc.ports),
  };
}
