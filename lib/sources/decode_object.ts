// One parsed manifest document to a typed object. Only the kinds the proxy
// reads are decoded; a known kind under another apiVersion is an error
// (its fields may mean something else), any other kind is not ours.
import { EndpointSlice, ObjectMeta, Service } from '../model/objects';
import { decodeEndpointSlice } from './decode_endpointslice';
import { decodeService } from './decode_service';
import { FieldReader, isJsonObject, Json } from './field_reader';
import { ObjectError, objectIdentity, UNNAMED } from './object_error';

export type KubeObject = { kind: 'Service'; object: Service } | { kind: 'EndpointSlice'; object: EndpointSlice };

const API_VERSIONS = { Service: 'v1', EndpointSlice: 'discovery.k8s.io/v1' } as const;

/** The namespace of manifests that name none, as with kubectl. */
export const DEFAULT_NAMESPACE = 'default';

// RFC 1123 subdomain: what the API accepts for namespaces and object names.
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function dnsName(r: FieldReader, v: unknown, field: string): string | undefined {
  const s = r.string(v, field);
  if (s !== undefined && (s.length > 253 || !DNS_NAME.test(s))) {
    r.fail(field, `${JSON.stringify(s)} is not a valid name (lowercase letters, digits, '-' and '.')`);
  }
  return s;
}

function metadata(r: FieldReader, v: unknown): ObjectMeta {
  const meta = r.required(r.object(v, 'metadata'), 'metadata');
  const labels: Record<string, string> = {};
  for (const [k, val] of Object.entries(r.object(meta.labels, 'metadata.labels') ?? {})) {
    labels[k] = r.required(r.string(val, `metadata.labels[${JSON.stringify(k)}]`), `metadata.labels[${JSON.stringify(k)}]`);
  }
  return {
    name: r.required(dnsName(r, meta.name, 'metadata.name'), 'metadata.name'),
    namespace: dnsName(r, meta.namespace, 'metadata.namespace') ?? DEFAULT_NAMESPACE,
    labels,
  };
}

function isKnownKind(kind: unknown): kind is keyof typeof API_VERSIONS {
  return kind === 'Service' || kind === 'EndpointSlice';
}

/** undefined for kinds the proxy does not read; throws ObjectError. */
export function decodeObject(doc: Json): KubeObject | undefined {
  const kind = doc.kind;
  if (!isKnownKind(kind)) return undefined;
  // Identify the object leniently first, so even a broken one is named.
  const meta = isJsonObject(doc.metadata) ? doc.metadata : {};
  const namespace = typeof meta.namespace === 'string' && meta.namespace ? meta.namespace : DEFAULT_NAMESPACE;
  const name = typeof meta.name === 'string' && meta.name ? meta.name : UNNAMED;
  const r = new FieldReader(kind, namespace, name);
  if (doc.apiVersion !== API_VERSIONS[kind]) {
    r.fail('apiVersion', `must be ${API_VERSIONS[kind]}, got ${JSON.stringify(doc.apiVersion ?? null)}`);
  }
  const m = metadata(r, doc.metadata);
  return kind === 'Service'
    ? { kind, object: decodeService(r, m, doc) }
    : { kind, object: decodeEndpointSlice(r, m, doc) };
}

/** What became of one manifest document. */
export type DocumentOutcome =
  | { object: KubeObject; identity: string }
  /** identity is missing when the object has no name to tell it by. */
  | { error: string; identity?: string }
  | { ignored: string };

export function decodeDocument(doc: unknown): DocumentOutcome {
  if (!isJsonObject(doc)) return { error: `not an object: ${JSON.stringify(doc)}` };
  try {
    const object = decodeObject(doc);
    if (!object) return { ignored: `kind ${JSON.stringify(doc.kind)} (apiVersion ${JSON.stringify(doc.apiVersion)})` };
    const { namespace, name } = object.object.metadata;
    return { object, identity: objectIdentity(object.kind, namespace, name) };
  } catch (e) {
    if (e instanceof ObjectError) return { error: e.message, identity: e.identity };
    throw e;
  }
}
