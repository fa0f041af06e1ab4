import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as v8 from 'v8';
import * as vm from 'vm';
import { EndpointSlice, Namespace, Node, Pod, Service, ServiceCIDR } from '../../lib/model/objects';
import { KubeObject } from '../../lib/sources/decode_object';
import { ManifestSource } from '../../lib/sources/manifest';
import { ManifestChange } from '../../lib/sources/manifest_merge';
import { MemoryLogger } from './logger';

const service = (name: string, ip: string, port = 80) => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  clusterIP: ${ip}
  ports:
  - port: ${port}
`;

/** Everything served after an emit, by kind. */
interface ManifestObjects {
  services: Service[];
  endpointSlices: EndpointSlice[];
  nodes: Node[];
  pods: Pod[];
  namespaces: Namespace[];
  serviceCIDRs: ServiceCIDR[];
}

/** What a test sees of a source: the objects served after each emit, and a way to wait for them. */
class Watch {
  readonly emits: ManifestObjects[] = [];
  private readonly served = new Map<string, KubeObject>();
  private waiter?: () => void;

  listener = (changes: ManifestChange[]) => {
    for (const { identity, now } of changes) {
      if (now) this.served.set(identity, now);
      else this.served.delete(identity);
    }
    const objects: ManifestObjects = { services: [], endpointSlices: [], nodes: [], pods: [], namespaces: [], serviceCIDRs: [] };
    for (const o of this.served.values()) {
      if (o.kind === 'Service') objects.services.push(o.object);
      else if (o.kind === 'EndpointSlice') objects.endpointSlices.push(o.object);
      else if (o.kind === 'Node') objects.nodes.push(o.object);
      else if (o.kind === 'Pod') objects.pods.push(o.object);
      else if (o.kind === 'Namespace') objects.namespaces.push(o.object);
      else objects.serviceCIDRs.push(o.object);
    }
    this.emits.push(objects);
    this.waiter?.();
  };

  get last(): ManifestObjects {
    return this.emits[this.emits.length - 1];
  }

  /** Resolves once the latest emitted set satisfies pred. */
  async until(pred: (o: ManifestObjects) => boolean, ms = 3000): Promise<ManifestObjects> {
    const deadline = Date.now() + ms;
    while (!(this.emits.length > 0 && pred(this.last))) {
      if (Date.now() > deadline) throw new Error(`timed out; last emit: ${JSON.stringify(this.last)}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.last;
  }
}

const services = (o: ManifestObjects) => o.services.map((s) => `${s.metadata.name}=${s.spec.clusterIP}:${s.spec.ports?.[0].port}`).sort();

/** Saves like an editor does: write a temporary file, rename it over. */
function save(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp~`, text);
  fs.renameSync(`${file}.tmp~`, file);
}

// Every behaviour holds whether a sync reads its files here or has a worker thread read them ahead.
describe.each([
  ['read on the main thread', Infinity],
  ['read ahead on a worker thread', 1],
])('manifest source, %s', (_how, readAheadFrom) => {
  let dir: string;
  let log: MemoryLogger;
  let source: ManifestSource | undefined;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-manifest-'));
    log = new MemoryLogger();
  });

  afterEach(() => {
    source?.stop();
    source = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(p = dir, proxyName?: string): Promise<Watch> {
    const w = new Watch();
    source = new ManifestSource({ path: p, log, proxyName, readAheadFrom });
    await source.start(w.listener);
    return w;
  }

  test('reads every manifest file of a directory: YAML documents, JSON Lists; skips others', async () => {
    fs.writeFileSync(path.join(dir, 'a.yaml'), `${service('a', '198.19.0.1')}---\n${service('b', '198.19.0.2')}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n`);
    const list = { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'd' }, spec: { clusterIP: '198.19.0.4', ports: [{ port: 80 }] } }] };
    fs.writeFileSync(path.join(dir, 'd.json'), JSON.stringify(list));
    fs.writeFileSync(path.join(dir, 'e.yml'), `${service('e', '198.19.0.5')}---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e-1, labels: {kubernetes.io/service-name: e}}\naddressType: IPv4\nendpoints: [{addresses: [198.18.0.5]}]\nports: [{port: 80}]\n`);
    fs.writeFileSync(path.join(dir, 'notes.txt'), service('x', '198.19.0.9'));
    fs.writeFileSync(path.join(dir, '.swap.yaml'), service('y', '198.19.0.9'));
    const w = await start();
    expect(w.emits).toHaveLength(1);
    expect(services(w.last)).toEqual(['a=198.19.0.1:80', 'b=198.19.0.2:80', 'd=198.19.0.4:80', 'e=198.19.0.5:80']);
    expect(w.last.endpointSlices.map((s) => s.endpoints[0].address)).toEqual(['198.18.0.5']);
    expect(log.matching(/debug .*a\.yaml:18: ignoring kind "ConfigMap" \(apiVersion "v1"\)$/)).toHaveLength(1);
  });

  describe('service.kubernetes.io/service-proxy-name, as the API server would select', () => {
    const labelled = (name: string, ip: string, proxy: string) => service(name, ip).replace(`  name: ${name}\n`, `  name: ${name}\n  labels: {service.kubernetes.io/service-proxy-name: ${proxy}}\n`);
    const slice = (svc: string, proxy?: string) =>
      `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: ${svc}-1, labels: {kubernetes.io/service-name: ${svc}${proxy ? `, service.kubernetes.io/service-proxy-name: ${proxy}` : ''}}}\naddressType: IPv4\nendpoints: [{addresses: [198.18.0.5]}]\nports: [{port: 80}]\n`;
    const headless = `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: h-1, labels: {kubernetes.io/service-name: h, service.kubernetes.io/headless: ""}}\naddressType: IPv4\nendpoints: [{addresses: [198.18.0.6]}]\nports: [{port: 80}]\n`;
    const slices = (o: ManifestObjects) => o.endpointSlices.map((s) => s.metadata.name).sort();

    beforeEach(() => {
      const docs = [service('a', '198.19.0.1'), slice('a'), labelled('b', '198.19.0.2', 'kpr'), slice('b', 'kpr'), labelled('c', '198.19.0.3', 'other'), slice('c', 'other'), headless];
      fs.writeFileSync(path.join(dir, 'a.yaml'), docs.join('---\n'));
    });

    test('without a name: only what names no proxy, never headless slices', async () => {
      const w = await start();
      expect(services(w.last)).toEqual(['a=198.19.0.1:80']);
      expect(slices(w.last)).toEqual(['a-1']);
      expect(log.matching(/info manifests: 5 Services and EndpointSlices labelled service\.kubernetes\.io\/service-proxy-name \(another proxy's\) or headless: not served/)).toHaveLength(1);
    });

    test('with a name: only what is labelled with it', async () => {
      const w = await start(dir, 'kpr');
      expect(services(w.last)).toEqual(['b=198.19.0.2:80']);
      expect(slices(w.last)).toEqual(['b-1']);
      save(path.join(dir, 'a.yaml'), [labelled('a', '198.19.0.1', 'kpr'), slice('a', 'kpr')].join('---\n'));
      expect(services(await w.until((o) => o.services.length !== 1 || o.services[0].metadata.name !== 'b'))).toEqual(['a=198.19.0.1:80']);
      expect(log.matching(/info manifests: \d Services and EndpointSlices not labelled service\.kubernetes\.io\/service-proxy-name=kpr or headless: not served/)).toHaveLength(2);
    });
  });

  test('an editor save (write and rename) re-reads that file only', async () => {
    fs.writeFileSync(path.join(dir, 'a.yaml'), service('a', '198.19.0.1'));
    fs.writeFileSync(path.join(dir, 'b.yaml'), service('b', '198.19.0.2'));
    const w = await start();
    save(path.join(dir, 'a.yaml'), service('a', '198.19.0.1', 8080));
    expect(services(await w.until((o) => services(o).includes('a=198.19.0.1:8080')))).toEqual(['a=198.19.0.1:8080', 'b=198.19.0.2:80']);
    expect(log.matching(/read .*b\.yaml/)).toHaveLength(1);
    expect(log.matching(/read .*a\.yaml/).length).toBeGreaterThanOrEqual(2);
  });

  test('documents whose text did not change are not decoded again', async () => {
    const file = path.join(dir, 'a.yaml');
    fs.writeFileSync(file, service('a', '198.19.0.1') + '---\n' + service('b', '198.19.0.2'));
    const w = await start();
    const before = w.last.services.find((s) => s.metadata.name === 'b');
    save(file, service('a', '198.19.0.1', 81) + '---\n' + service('b', '198.19.0.2'));
    const after = await w.until((o) => services(o).includes('a=198.19.0.1:81'));
    expect(after.services.find((s) => s.metadata.name === 'b')).toBe(before);
    expect(after.services.find((s) => s.metadata.name === 'a')).not.toBe(w.emits[0].services.find((s) => s.metadata.name === 'a'));
  });

  test('keeps no file text alive: 16 files of 1 MB hold far less than 1 MB each once read', async () => {
    // A long comment makes each document's text 1 MB; a name of 13 characters
    // or more is what V8 would cut out of that text as a slice.
    const comment = `# ${'x'.repeat(1 << 20)}\n`;
    for (let i = 0; i < 16; i++) fs.writeFileSync(path.join(dir, `s${i}.yaml`), comment + service(`a-long-service-name-${i}`, `198.19.0.${i + 1}`));
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    const w = await start();
    gc();
    const grown = process.memoryUsage().heapUsed - before;
    expect(w.last.services).toHaveLength(16);
    expect(grown).toBeLessThan(4 << 20);
  });

  test('a burst of writes is read once it settles', async () => {
    const file = path.join(dir, 'a.yaml');
    fs.writeFileSync(file, service('a', '198.19.0.1', 1));
    const w = await start();
    for (let port = 2; port <= 20; port++) fs.writeFileSync(file, service('a', '198.19.0.1', port));
    await w.until((o) => services(o)[0] === 'a=198.19.0.1:20');
    // 19 writes; how many reads depends on scheduling, but far fewer.
    expect(w.emits.length).toBeLessThan(10);
  });

  test('a file that does not parse keeps its objects; the error names file and line', async () => {
    const file = path.join(dir, 'a.yaml');
    fs.writeFileSync(file, service('a', '198.19.0.1') + '---\n' + service('b', '198.19.0.2'));
    const w = await start();
    save(file, 'apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n   namespace: x\n');
    const deadline = Date.now() + 3000;
    while (log.matching(/error/).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(log.matching(/error/)[0]).toContain(`error manifests: ${file}:5: `);
    expect(log.matching(/error/)[0]).toContain('keeping its 2 previous objects');
    expect(services(w.last)).toEqual(['a=198.19.0.1:80', 'b=198.19.0.2:80']);
  });

  test('an invalid object is reported and skipped; a valid one keeps applying; an invalid update keeps the previous version', async () => {
    const file = path.join(dir, 'a.yaml');
    fs.writeFileSync(file, service('a', '198.19.0.1') + '---\n' + service('bad', '198.19.0.2', 70000));
    const w = await start();
    expect(services(w.last)).toEqual(['a=198.19.0.1:80']);
    expect(log.matching(/error/)).toEqual([
      `error manifests: ${file}:9: Service default/bad: spec.ports[0].port: must be an integer from 1 to 65535, got 70000; skipped`,
    ]);
    save(file, service('a', '198.19.0.1', 0) + '---\n' + service('c', '198.19.0.3'));
    expect(services(await w.until((o) => services(o).length === 2))).toEqual(['a=198.19.0.1:80', 'c=198.19.0.3:80']);
    expect(log.matching(/Service default\/a: spec.ports\[0\].port: .*; keeping its previous version$/)).toHaveLength(1);
  });

  test('a removed file removes its objects', async () => {
    fs.writeFileSync(path.join(dir, 'a.yaml'), service('a', '198.19.0.1'));
    fs.writeFileSync(path.join(dir, 'b.yaml'), service('b', '198.19.0.2'));
    const w = await start();
    fs.unlinkSync(path.join(dir, 'a.yaml'));
    expect(services(await w.until((o) => o.services.length === 1))).toEqual(['b=198.19.0.2:80']);
  });

  test('a file added later is read', async () => {
    const w = await start();
    expect(w.last).toEqual({ services: [], endpointSlices: [], nodes: [], pods: [], namespaces: [], serviceCIDRs: [] });
    save(path.join(dir, 'new.yaml'), service('n', '198.19.0.7'));
    expect(services(await w.until((o) => o.services.length === 1))).toEqual(['n=198.19.0.7:80']);
  });

  test('watching one file ignores its neighbours', async () => {
    const file = path.join(dir, 'one.yaml');
    fs.writeFileSync(file, service('a', '198.19.0.1'));
    fs.writeFileSync(path.join(dir, 'other.yaml'), service('b', '198.19.0.2'));
    const w = await start(file);
    expect(services(w.last)).toEqual(['a=198.19.0.1:80']);
    save(path.join(dir, 'other.yaml'), service('b', '198.19.0.3'));
    save(file, service('a', '198.19.0.1', 81));
    expect(services(await w.until((o) => services(o)[0] === 'a=198.19.0.1:81'))).toEqual(['a=198.19.0.1:81']);
  });

  test('an object defined in two files comes from the first file by name', async () => {
    fs.writeFileSync(path.join(dir, 'b.yaml'), service('a', '198.19.0.2'));
    fs.writeFileSync(path.join(dir, 'a.yaml'), service('a', '198.19.0.1'));
    const w = await start();
    expect(services(w.last)).toEqual(['a=198.19.0.1:80']);
    expect(log.matching(/warn .*Service default\/a is defined in a\.yaml and b\.yaml; using a\.yaml/)).toHaveLength(1);
  });

  test('a missing path fails start', async () => {
    await expect(start(path.join(dir, 'missing.yaml'))).rejects.toThrow(/ENOENT/);
  });
});
