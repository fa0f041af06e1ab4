// Fuzzing of the object decoders and the manifest parser with seeded,
// generated input: batches of valid Services and EndpointSlices, some of
// them mutated (a field replaced by a hostile value or removed, ports
// duplicated, addresses of the wrong family, thousands of entries, deep
// nesting, shared YAML aliases), and manifest text cut or corrupted. Whatever
// comes in, the only error that leaves a decoder is an ObjectError naming
// the object and the field, the only one that leaves the parser a
// ParseError, and the valid objects of the batch are all kept and reach the
// model. A failing case prints its seed and document.
import * as yaml from 'js-yaml';
import { ModelConfig } from '../../lib/model/node';
import { EndpointSlice, Service } from '../../lib/model/objects';
import { decodeDocument, decodeObject } from '../../lib/sources/decode_object';
import { Json } from '../../lib/sources/field_reader';
import { manifestChunks, parseChunk, ParseError } from '../../lib/sources/manifest_parse';
import { ObjectError } from '../../lib/sources/object_error';
import { ALL_NODE_ADDRESSES, desired, node } from './objects';
import { Rng } from './rng';

const SEED = 0x6b707237;
const BATCHES = 250;
const BATCH_SIZE = 20;
const TEXT_CASES = 2000;

const NAMESPACE = 'fuzz';

function nested(depth: number): unknown {
  let v: unknown = [];
  for (let i = 0; i < depth; i++) v = i % 2 ? { a: v } : [v];
  return v;
}

const ALIASED = (() => {
  // One list holding itself 9 times over, 6 levels deep: 9^6 entries when
  // written out in full, one node each in memory (the billion laughs).
  let v: unknown = ['x'];
  for (let i = 0; i < 6; i++) v = Array(9).fill(v);
  return v;
})();

/** Values a manifest can hold where another was expected (YAML gives
 *  NaN and infinities too). */
const HOSTILE: unknown[] = [
  null,
  true,
  -1,
  0,
  65536,
  70000,
  1.5,
  2 ** 53,
  NaN,
  Infinity,
  '',
  ' ',
  'x'.repeat(100_000),
  'Service',
  '198.18.0.1',
  'fd00:198:18::1',
  '::',
  '0.0.0.0',
  '127.0.0.1',
  '300.18.0.1',
  '198.18.0.0/15',
  'None',
  'TCP',
  'ICMP',
  'LoadBalancer',
  'ClientIP',
  '__proto__',
  [],
  {},
  ['198.18.0.1', 'fd00:198:18::1'],
  Array.from({ length: 10_000 }, (_, i) => i),
  Array.from({ length: 10_000 }, (_, i) => ({ name: `p${i}`, port: (i % 65535) + 1 })),
  nested(5000),
  ALIASED,
];

function validService(rng: Rng, i: number): Json {
  const v6 = rng.int(4) === 0;
  const clusterIP = v6 ? `fd00:198:19::${(i + 1).toString(16)}` : `198.19.${i >> 8}.${i & 255}`;
  const type = rng.pick(['ClusterIP', 'NodePort', 'LoadBalancer'] as const);
  const ports = Array.from({ length: 1 + rng.int(3) }, (_, p) => ({
    name: `p${p}`,
    port: 80 + p,
    protocol: rng.pick(['TCP', 'UDP', 'SCTP']),
    targetPort: 8080 + p,
    ...(type === 'ClusterIP' ? {} : { nodePort: 30000 + ((i * 3 + p) % 2767) }),
  }));
  const lb = type === 'LoadBalancer';
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: `svc-${i}`, namespace: NAMESPACE, labels: { app: `a${i}` } },
    spec: {
      type,
      clusterIP,
      clusterIPs: [clusterIP],
      ipFamilies: [v6 ? 'IPv6' : 'IPv4'],
      ports,
      ...(rng.int(3) === 0 ? { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 1 + rng.int(86400) } } } : {}),
      ...(lb ? { loadBalancerSourceRanges: [v6 ? 'fd00:198:18::/48' : '198.18.0.0/15'], externalTrafficPolicy: rng.pick(['Cluster', 'Local']) } : {}),
    },
    ...(lb ? { status: { loadBalancer: { ingress: [{ ip: v6 ? `fd00:198:18:100::${(i + 1).toString(16)}` : `198.18.100.${i & 255}` }] } } } : {}),
  };
}

function validSlice(rng: Rng, svc: Json): Json {
  const spec = svc.spec as Json;
  const v6 = (spec.ipFamilies as string[])[0] === 'IPv6';
  const name = (svc.metadata as Json).name as string;
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${name}-${rng.int(1000)}`, namespace: NAMESPACE, labels: { 'kubernetes.io/service-name': name } },
    addressType: v6 ? 'IPv6' : 'IPv4',
    ports: (spec.ports as Json[]).map((p) => ({ name: p.name, port: p.targetPort, protocol: p.protocol })),
    endpoints: Array.from({ length: 1 + rng.int(4) }, (_, e) => ({
      addresses: [v6 ? `fd00:198:18:10::${(e + 1).toString(16)}` : `198.18.10.${e + 1}`],
      conditions: { ready: rng.int(4) !== 0, serving: true, terminating: false },
      nodeName: rng.pick(['node-a', 'node-b']),
    })),
  };
}

/** Every path into doc: [container, key] pairs. */
function slots(doc: unknown, out: [Json | unknown[], string | number][] = [], depth = 0): [Json | unknown[], string | number][] {
  if (depth > 6) return out;
  if (Array.isArray(doc)) doc.forEach((v, i) => (out.push([doc, i]), slots(v, out, depth + 1)));
  else if (doc !== null && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) out.push([doc as Json, k]), slots(v, out, depth + 1);
  return out;
}

/** Changes doc in place, as a careless or hostile author would. */
function mutate(rng: Rng, doc: Json): string {
  const spec = doc.spec as Json | undefined;
  switch (rng.int(8)) {
    case 0: {
      const list = (spec?.ports ?? doc.ports) as Json[] | undefined;
      if (!list?.length) break;
      list.push({ ...list[0] });
      return 'a port given twice';
    }
    case 1:
      if (!spec) break;
      spec.clusterIP = spec.ipFamilies && (spec.ipFamilies as string[])[0] === 'IPv6' ? '198.19.255.1' : 'fd00:198:19::ffff';
      spec.clusterIPs = [spec.clusterIP];
      return 'a cluster IP of the other family';
    case 2: {
      const eps = doc.endpoints as Json[] | undefined;
      if (!eps?.length) break;
      eps[0].addresses = [rng.pick(['198.18.10.300', 'fd00::zz', 'node-a', '', '198.18.10.1/32', doc.addressType === 'IPv4' ? 'fd00:198:18::1' : '198.18.0.1'])];
      return 'an endpoint with a bad address';
    }
    case 3: {
      const list = (spec?.ports ?? doc.ports) as Json[] | undefined;
      if (!list?.length) break;
      list[0][rng.pick(['port', 'protocol', 'nodePort', 'name'])] = rng.pick([0, -80, 65536, 1e9, 'ICMP', 'tcp', 'HTTP_2', 'x'.repeat(300)]);
      return 'a port out of range or of an unknown protocol';
    }
    case 4:
      (doc.metadata as Json).labels = { 'kubernetes.io/service-name': `missing-${rng.int(1000)}` };
      return doc.kind === 'EndpointSlice' ? 'a slice of a service that does not exist' : 'other labels';
  }
  const all = slots(doc);
  const [container, key] = rng.pick(all);
  if (rng.int(5) === 0) {
    if (Array.isArray(container)) container.splice(key as number, 1);
    else delete container[key as string];
    return `${key} removed`;
  }
  const value = rng.pick(HOSTILE);
  (container as Record<string | number, unknown>)[key] = value;
  return `${key} set to a hostile ${Array.isArray(value) ? `list of ${value.length}` : typeof value}`;
}

function identity(doc: Json): { kind: string; namespace: string; name: string } | undefined {
  const m = doc.metadata as Json | undefined;
  const name = m?.name;
  const ns = m?.namespace;
  if (typeof name !== 'string' || name === '' || name.length > 253 || typeof ns !== 'string' || ns === '' || ns.length > 253) return undefined;
  return { kind: doc.kind as string, namespace: ns, name };
}

/** decodeObject throws nothing but an ObjectError, naming the object when it has a name. */
function expectNamedError(doc: Json, what: string): void {
  let thrown: unknown;
  try {
    decodeObject(doc);
    return;
  } catch (e) {
    thrown = e;
  }
  if (!(thrown instanceof ObjectError)) throw new Error(`${what}: ${String(thrown)} escaped the decoder (want ObjectError)`);
  expect(thrown.field).not.toBe('');
  expect(thrown.problem).not.toBe('');
  expect(thrown.message.length).toBeLessThan(1000);
  const id = identity(doc);
  if (id && typeof doc.kind === 'string') {
    expect({ kind: thrown.kind, namespace: thrown.namespace, name: thrown.objectName }).toEqual(id);
  }
}

const CONFIG: ModelConfig = { ...ALL_NODE_ADDRESSES, lbSourceRangeAllTypes: true };

describe(`object fuzzing (seed ${SEED})`, () => {
  test(`${BATCHES} batches of ${BATCH_SIZE} objects, some mutated: only named errors, valid objects kept and programmed`, () => {
    const rng = new Rng(SEED);
    let mutated = 0;
    let refused = 0;
    for (let b = 0; b < BATCHES; b++) {
      const docs: { doc: Json; mutation?: string }[] = [];
      for (let i = 0; docs.length < BATCH_SIZE; i++) {
        const svc = validService(rng, b * BATCH_SIZE + i);
        for (const doc of [svc, validSlice(rng, svc)]) docs.push(rng.int(3) === 0 ? { doc, mutation: mutate(rng, doc) } : { doc });
      }
      const services: Service[] = [];
      const slices: EndpointSlice[] = [];
      for (const { doc, mutation } of docs) {
        const what = `batch ${b}, ${doc.kind} ${JSON.stringify(identity(doc))}${mutation ? `, ${mutation}` : ''}`;
        const outcome = decodeDocument(doc);
        if (mutation) {
          mutated++;
          expectNamedError(doc, what);
          if ('error' in outcome) refused++;
        } else if (!('object' in outcome)) {
          throw new Error(`${what}: a valid object was not kept: ${JSON.stringify(outcome)}`);
        }
        if ('object' in outcome) {
          if (outcome.object.kind === 'Service') services.push(outcome.object.object);
          if (outcome.object.kind === 'EndpointSlice') slices.push(outcome.object.object);
        }
      }
      // Everything that decoded, however odd, goes through the model without a throw.
      const state = desired(services, slices, node(['198.18.0.2', 'fd00:198:18::2'], 'node-a'), CONFIG);
      const served = new Set(state.frontends.filter((f) => f.kind === 'ClusterIP').map((f) => f.serviceName));
      for (const { doc, mutation } of docs) {
        if (!mutation && doc.kind === 'Service' && state.conflicts.length === 0) expect(served).toContain(`${NAMESPACE}/${(doc.metadata as Json).name}`);
      }
    }
    // The mutations must mostly be ones the decoders refuse, or this test proves little.
    expect(mutated).toBeGreaterThan(BATCHES * BATCH_SIZE * 0.25);
    expect(refused / mutated).toBeGreaterThan(0.6);
  });

  test(`${TEXT_CASES} manifests cut, corrupted or nested deep: only ParseErrors, and the documents that parse decode without a throw`, () => {
    const rng = new Rng(SEED ^ 0x1234);
    const corrupt = (text: string): string => {
      const at = rng.int(text.length);
      switch (rng.int(6)) {
        case 0:
          return text.slice(0, at);
        case 1:
          return `${text.slice(0, at)}${rng.pick(['{', '[', ':', '- ', '&a ', '*a', '!!binary ', '"', '\t', '\u0000', '%YAML 1.2\n', '\n---\n'])}${text.slice(at)}`;
        case 2:
          return `${text.slice(0, at)}${text.slice(at + 1 + rng.int(20))}`;
        case 3:
          return `${text}\nspec: ${'['.repeat(2000 + rng.int(8000))}`;
        case 4:
          return `a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n${text.replace('clusterIP: ', 'clusterIP: *c\nx: ')}`;
        default:
          return text.replace(/\d+/, String(rng.pick(HOSTILE.filter((v) => typeof v !== 'object'))));
      }
    };
    let parsed = 0;
    for (let n = 0; n < TEXT_CASES; n++) {
      const svc = validService(rng, n);
      const json = rng.int(4) === 0;
      const file = json ? 'f.json' : 'f.yaml';
      const text = corrupt(json ? JSON.stringify(svc) : `${yaml.dump(svc)}---\n${yaml.dump(validSlice(rng, svc))}`);
      let docs: unknown[] = [];
      try {
        docs = manifestChunks(text, file).flatMap((c) => parseChunk(c, file));
        parsed++;
      } catch (e) {
        if (!(e instanceof ParseError)) throw new Error(`case ${n}: ${String(e)} escaped the parser (want ParseError) for ${JSON.stringify(text.slice(0, 200))}`);
      }
      for (const doc of docs) expect(() => decodeDocument(doc)).not.toThrow();
    }
    expect(parsed).toBeGreaterThan(TEXT_CASES / 4);
    expect(parsed).toBeLessThan(TEXT_CASES);
  });
});

describe('the contradictions the fuzzer makes, each named by its field', () => {
  const svc = (spec: Json): Json => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NAMESPACE }, spec });
  const eps = (body: Json): Json => ({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'web-1', namespace: NAMESPACE }, addressType: 'IPv4', ...body });
  const p = (port: unknown, more: Json = {}) => ({ name: `p${String(port).length}`, port, ...more });
  test.each<[string, Json, string]>([
    ['duplicate service ports', svc({ ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] }), 'Service fuzz/web: spec.ports[1]: duplicate port 80/TCP'],
    ['a cluster IP of the other family', svc({ clusterIP: 'fd00:198:19::1', clusterIPs: ['fd00:198:19::1'], ipFamilies: ['IPv4'] }), 'Service fuzz/web: spec.ipFamilies[0]: is IPv4, but spec.clusterIPs[0] (fd00:198:19::1) is IPv6'],
    ['a port out of range', svc({ ports: [p(65536)] }), 'Service fuzz/web: spec.ports[0].port: must be an integer from 1 to 65535, got 65536'],
    ['an unknown protocol', svc({ ports: [p(80, { protocol: 'ICMP' })] }), 'Service fuzz/web: spec.ports[0].protocol: must be one of TCP, UDP, SCTP, got "ICMP"'],
    ['a port name of 300 characters', svc({ ports: [{ name: 'x'.repeat(300), port: 80 }] }), `Service fuzz/web: spec.ports[0].name: "${'x'.repeat(56)}... is not a valid port name (at most 63 lowercase letters, digits and '-')`],
    ['an endpoint address of the other family', eps({ endpoints: [{ addresses: ['fd00:198:18::1'] }] }), 'EndpointSlice fuzz/web-1: endpoints[0].addresses[0]: "fd00:198:18::1" is not an IPv4 address'],
    ['an endpoint address that is none', eps({ endpoints: [{ addresses: ['198.18.10.300'] }] }), 'EndpointSlice fuzz/web-1: endpoints[0].addresses[0]: "198.18.10.300" is not a valid IP address'],
    ['duplicate slice port names', eps({ ports: [{ name: 'a', port: 1 }, { name: 'a', port: 2 }] }), 'EndpointSlice fuzz/web-1: ports[1].name: duplicate name "a"'],
    ['10k slice ports', eps({ ports: Array.from({ length: 10_000 }, (_, i) => ({ name: `p${i}`, port: 1 + i })) }), 'EndpointSlice fuzz/web-1: ports: may hold at most 100 entries, got 10000'],
    ['10k endpoints', eps({ endpoints: Array.from({ length: 10_000 }, () => ({ addresses: ['198.18.10.1'] })) }), 'EndpointSlice fuzz/web-1: endpoints: may hold at most 1000 entries, got 10000'],
    ['a value nested 5000 deep', svc({ clusterIP: nested(5000) }), `Service fuzz/web: spec.clusterIP: must be a string, got ${'{"a":['.repeat(9)}{"a...`],
  ])('%s', (_name, doc, message) => {
    expect(() => decodeObject(doc)).toThrow(ObjectError);
    expect(decodeDocument(doc)).toEqual({ error: message, identity: `${doc.kind} ${NAMESPACE}/${(doc.metadata as Json).name}` });
  });

  test('a slice whose service does not exist is no error: it waits for its service, the others are served', () => {
    const web = decodeObject(svc({ clusterIP: '198.19.0.1', ports: [{ name: 'p', port: 80 }] }));
    const orphan = decodeObject({ ...eps({ endpoints: [{ addresses: ['198.18.10.1'] }], ports: [{ name: 'p', port: 8080 }] }), metadata: { name: 'gone-1', namespace: NAMESPACE, labels: { 'kubernetes.io/service-name': 'gone' } } });
    expect(orphan?.kind).toBe('EndpointSlice');
    const state = desired([web?.object as Service], [orphan?.object as EndpointSlice]);
    expect(state.frontends.map((f) => f.serviceName)).toEqual([`${NAMESPACE}/web`]);
  });
});
