// kubeconform's JSON schemas made from a running kube-apiserver's OpenAPI v2
// document, so that rendered manifests are validated offline against exactly
// the pinned Kubernetes version (and the CRDs installed in it), never against
// schemas downloaded from elsewhere.
//
// The files follow the layout and conversion of kubeconform's own schema sets
// (openapi2jsonschema, "-standalone-strict"): one self-contained file per
// kind and version, named <kind><kindSuffix>.json, every object with listed
// properties closed to others, and the two types whose JSON and OpenAPI
// forms differ (int-or-string, Quantity) widened to what the apiserver takes.
import * as fs from 'fs';
import * as path from 'path';

type Schema = { [key: string]: unknown };

interface Gvk {
  group: string;
  version: string;
  kind: string;
}

const DEFINITION_REF = '#/definitions/';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';

/** How the apiserver decodes these, rather than how OpenAPI v2 spells them (a string). */
const WIDENED: Record<string, Schema> = {
  [INT_OR_STRING]: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
  [QUANTITY]: { oneOf: [{ type: 'string' }, { type: 'number' }] },
};

const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** kubeconform's file name of a kind: its lowercased kind, then "-<first label of the group>-<version>", or "-<version>" for the core group. */
export function schemaFileName(gvk: Gvk): string {
  const group = gvk.group === '' ? '' : `-${gvk.group.split('.')[0]}`;
  return `${gvk.kind.toLowerCase()}${group}-${gvk.version}.json`.toLowerCase();
}

/** A definition made strict, descriptions dropped (they are most of the bytes). */
function strict(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(strict);
  if (!isSchema(schema)) return schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'description') continue;
    // properties and definitions map names to schemas: recurse into the schemas only.
    out[k] = k === 'properties' && isSchema(v) ? Object.fromEntries(Object.entries(v).map(([p, s]) => [p, strict(s)])) : strict(v);
  }
  if (isSchema(out.properties) && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false;
  }
  return out;
}

function refsOf(schema: unknown, found: Set<string>): void {
  if (Array.isArray(schema)) {
    schema.forEach((s) => refsOf(s, found));
    return;
  }
  if (!isSchema(schema)) return;
  const ref = schema.$ref;
  if (typeof ref === 'string' && ref.startsWith(DEFINITION_REF)) found.add(ref.slice(DEFINITION_REF.length));
  for (const v of Object.values(schema)) refsOf(v, found);
}

/** The definitions `name` reaches through $refs, itself included. */
function reachable(definitions: Record<string, unknown>, name: string): string[] {
  const seen = new Set<string>();
  const todo = [name];
  while (todo.length > 0) {
    const next = todo.pop() as string;
    if (seen.has(next)) continue;
    if (!(next in definitions)) throw new Error(`OpenAPI: ${next} is referenced but not defined`);
    seen.add(next);
    const refs = new Set<string>();
    refsOf(definitions[next], refs);
    todo.push(...refs);
  }
  return [...seen];
}

export interface WrittenSchemas {
  /** kubeconform's -schema-location template for them. */
  location: string;
  /** kubeconform's -kubernetes-version, which picks their directory. */
  kubernetesVersion: string;
  /** File names written, one per kind and version. */
  files: string[];
}

/** Writes the schema of every kind the OpenAPI document serves under dir. */
export function writeKubeconformSchemas(openapi: unknown, dir: string, kubeVersion: string): WrittenSchemas {
  const definitions = (isSchema(openapi) && isSchema(openapi.definitions) ? openapi.definitions : undefined) as Record<string, Schema> | undefined;
  if (!definitions) throw new Error('OpenAPI v2 document without definitions');
  const converted = (name: string) => WIDENED[name] ?? strict(definitions[name]);
  const version = kubeVersion.replace(/^v/, '');
  const out = path.join(dir, `v${version}-standalone-strict`);
  fs.mkdirSync(out, { recursive: true });
  const files: string[] = [];
  for (const [name, def] of Object.entries(definitions)) {
    const gvks = def['x-kubernetes-group-version-kind'];
    if (!Array.isArray(gvks)) continue;
    const others = reachable(definitions, name).filter((n) => n !== name);
    const schema = { ...(converted(name) as Schema), definitions: Object.fromEntries(others.map((n) => [n, converted(n)])) };
    const text = JSON.stringify(schema);
    for (const gvk of gvks as Gvk[]) {
      const file = schemaFileName(gvk);
      fs.writeFileSync(path.join(out, file), text);
      files.push(file);
    }
  }
  return {
    location: path.join(dir, '{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}', '{{ .ResourceKind }}{{ .KindSuffix }}.json'),
    kubernetesVersion: version,
    files,
  };
}
