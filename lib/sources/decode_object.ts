// One parsed manifest document to a typed object. Only the kinds the proxy
// reads are decoded; a known kind under another apiVersion is an error
// (its fields may mean something else), any other kind is not ours.
import { EndpointSlice, Namespace, Node, ObjectMeta, Pod, Service, ServiceCIDR } from '../model/objects';
import { decodeEndpointSlice } from './decode_endpointslice';
import { decodeNode } from './decode_node';
import { decodeNamespace, decodePod } from './decode_pod';
import { decodeServiceCIDR } from './decode_service_cidr';
import { decodeService } from './decode_service';
import { FieldReader, isJsonObject, Json, shown } from './field_reader';
import { ObjectError, objectIdentity, UNNAMED } from './object_error';

export type KubeObject =
  | { kind: 'Service'; object: Service }
  | { kind: 'EndpointSlice'; object: EndpointSlice }
  | { kind: 'Node'; object: Node }
  | { kind: 'Pod'; object: Pod }
  | { kind: 'Namespace'; object: Namespace }
  | { kind: 'ServiceCIDR'; object: ServiceCIDR };

const API_VERSIONS = { Service: 'v1', EndpointSlice: 'discovery.k8s.io/v1', Node: 'v1', Pod: 'v1', Namespace: 'v1', ServiceCIDR: 'networking.k8s.io/v1' } as const;

/** Nodes, Namespaces and ServiceCIDRs belong to no namespace; one in their manifest means nothing. */
const CLUSTER_SCOPED = new Set<string>(['Node', 'Namespace', 'ServiceCIDR']);

/** The namespace of manifests that name none, as with kubectl. */
export const DEFAULT_NAMESPACE = 'default';

// RFC 1123 subdomain: what the API accepts for namespaces and object names.
const MAX_NAME = 253;
const DNS_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function dnsName(r: FieldReader, v: unknown, field: string): string | undefined {
  const s = r.string(v, field);
  if (s !== undefined && (s.length > MAX_NAME || !DNS_NAME.test(s))) {
    r.fail(field, `${shown(s)} is not a valid name (lowercase letters, digits, '-' and '.')`);
  }
  return s;
}

/** Most objects have no annotations, many no labels: they share one empty map. */
const NO_ENTRIES: Record<string, string> = Object.freeze({});

function stringMap(r: FieldReader, v: unknown, field: string): Record<string, string> {
  const entries = Object.entries(r.object(v, field) ?? {});
  if (entries.length === 0) return NO_ENTRIES;
  const out: Record<string, string> = {};
  for (const [k, val] of entries) {
    const at = `${field}[${shown(k)}]`;
    out[k] = r.required(r.string(val, at), at);
  }
  return out;
}

function metadata(r: FieldReader, v: unknown, namespaced: boolean): ObjectMeta {
  const meta = r.required(r.object(v, 'metadata'), 'metadata');
  return {
    name: r.required(dnsName(r, meta.name, 'metadata.name'), 'metadata.name'),
    namespace: namespaced ? (dnsName(r, meta.namespace, 'metadata.namespace') ?? DEFAULT_NAMESPACE) : '',
    labels: stringMap(r, meta.labels, 'metadata.labels'),
    annotations: stringMap(r, meta.annotations, 'metadata.annotations'),
  };
}

function isKnownKind(kind: unknown): kind is keyof typeof API_VERSIONS {
  return typeof kind === 'string' && Object.hasOwn(API_VERSIONS, kind);
}

function decodeKind(r: FieldReader, kind: keyof typeof API_VERSIONS, m: ObjectMeta, doc: Json): KubeObject {
  switch (kind) {
    case 'Service':
      return { kind, object: decodeService(r, m, doc) };
    case 'EndpointSlice':
      return { kind, object: decodeEndpointSlice(r, m, doc) };
    case 'Node':
      return { kind, object: decodeNode(r, m, doc) };
    case 'Pod':
      return { kind, object: decodePod(r, m, doc) };
    case 'Namespace':
      return { kind, object: decodeNamespace(m) };
    case 'ServiceCIDR':
      return { kind, object: decodeServiceCIDR(r, m, doc) };
  }
}

/** A name too long to be one (the API takes 253 characters at most) is
 *  shown by its start: enough to find it, not a message of megabytes. */
function clipped(name: string): string {
  return name.length > MAX_NAME ? `${name.slice(0, 60)}...` : name;
}

/** undefined for kinds the proxy does not read; throws ObjectError. */
export function decodeObject(doc: Json): KubeObject | undefined {
  const kind = doc.kind;
  if (!isKnownKind(kind)) return undefined;
  // Identify the object leniently first, so even a broken one is named.
  const namespaced = !CLUSTER_SCOPED.has(kind);
  const meta = isJsonObject(doc.metadata) ? doc.metadata : {};
  const namespace = typeof meta.namespace === 'string' && meta.namespace ? clipped(meta.namespace) : DEFAULT_NAMESPACE;
  const name = typeof meta.name === 'string' && meta.name ? clipped(meta.name) : UNNAMED;
  const r = new FieldReader(kind, namespaced ? namespace : '', name);
  if (doc.apiVersion !== API_VERSIONS[kind]) {
    r.fail('apiVersion', `must be ${API_VERSIONS[kind]}, got ${shown(doc.apiVersion ?? null)}`);
  }
  return decodeKind(r, kind, metadata(r, doc.metadata, namespaced), doc);
}

/** What became of one manifest document. */
export type DocumentOutcome =
  | { object: KubeObject; identity: string }
  /** identity is missing when the object has no name to tell it by. */
  | { error: string; identity?: string }
  | { ignored: string };

export function decodeDocument(doc: unknown): DocumentOutcome {
  if (!isJsonObject(doc)) return { error: `not an object: ${shown(doc)}` };
  try {
    const object = decodeObject(doc);
    if (!object) return { ignored: `kind ${shown(doc.kind)} (apiVersion ${shown(doc.apiVersion)})` };
    const { namespace, name } = object.object.metadata;
    return { object, identity: objectIdentity(object.kind, namespace, name) };
  } catch (e) {
    if (e instanceof ObjectError) return { error: e.message, identity: e.identity };
    throw e;
  }
}
