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
 *  and their conditions take one of 27 values, each made once. */
const SHARED_CONDITIONS: EndpointConditions[] = [];

/** undefined, false, true: 0, 1, 2. */
const tristate = (b: boolean | undefined) => (b === undefined ? 0 : b ? 2 : 1);

function shared(ready: boolean | undefined, serving: boolean | undefined, terminating: boolean | undefined): EndpointConditions {
  const k = tristate(ready) * 9 + tristate(serving) * 3 + tristate(terminating);
  return (SHARED_CONDITIONS[k] ??= Object.freeze({ ready, serving, terminating }));
}

/** The paths of endpoint i's fields, for errors. */
interface EndpointFields {
  at: string;
  addresses: string;
  firstAddress: string;
  conditions: string;
  ready: string;
  serving: string;
  terminating: string;
  nodeName: string;
  hints: string;
}

/** Made once per index, as every slice names the same: made per endpoint,
 *  they were the decoder's largest allocation (600 MB over a start at 100k
 *  services, sampled). The API's limit on a slice's endpoints bounds it. */
const ENDPOINT_FIELDS: EndpointFields[] = [];

function endpointFields(i: number): EndpointFields {
  const made = ENDPOINT_FIELDS[i];
  if (made) return made;
  const at = `endpoints[${i}]`;
  return (ENDPOINT_FIELDS[i] = {
    at,
    addresses: `${at}.addresses`,
    firstAddress: `${at}.addresses[0]`,
    conditions: `${at}.conditions`,
    ready: `${at}.conditions.ready`,
    serving: `${at}.conditions.serving`,
    terminating: `${at}.conditions.terminating`,
    nodeName: `${at}.nodeName`,
    hints: `${at}.hints`,
  });
}

function endpoint(r: FieldReader, v: unknown, f: EndpointFields, type: AddressType): Endpoint {
  const ep = r.required(r.object(v, f.at), f.at);
  const addresses = r.required(r.array(ep.addresses, f.addresses), f.addresses);
  if (addresses.length === 0) r.fail(f.addresses, 'must hold at least one address');
  const first = address(r, addresses[0], f.firstAddress, type);
  for (let j = 1; j < addresses.length; j++) address(r, addresses[j], `${f.addresses}[${j}]`, type);
  const conditions = r.object(ep.conditions, f.conditions);
  return {
    address: first,
    conditions: conditions && shared(r.boolean(conditions.ready, f.ready), r.boolean(conditions.serving, f.serving), r.boolean(conditions.terminating, f.terminating)),
    nodeName: r.string(ep.nodeName, f.nodeName),
    hints: hints(r, ep.hints, f.hints),
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
    endpoints: endpoints.map((e, i) => endpoint(r, e, endpointFields(i), addressType)),
    ports: endpointPorts(r, doc.ports),
  };
}
