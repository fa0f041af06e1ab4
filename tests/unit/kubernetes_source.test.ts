import { Json } from '../../lib/sources/field_reader';
import { KubernetesHandlers, KubernetesSource, KubernetesTargets } from '../../lib/sources/kubernetes';
import { describeError, isUnreachable } from '../../lib/sources/kubernetes_errors';
import { nodeFieldSelector, PROXY_LABEL_SELECTOR } from '../../lib/sources/kubernetes_filters';
import { Informer, ListFn, ListResult, WatchTarget } from '../../lib/sources/kubernetes_watch';
import { MemoryLogger } from './logger';

type Verb = 'add' | 'update' | 'delete' | 'error';

/** Behaves as client-node's ListWatch: start() lists through the given
 *  function and replays the items as "add"; a failure is reported as
 *  "error" and the informer stops. The test drives the watch by hand. */
class FakeInformer implements Informer {
  readonly callbacks: Record<Verb, ((x: never) => void)[]> = { add: [], update: [], delete: [], error: [] };
  stopped = false;

  constructor(private readonly list: ListFn) {}

  on(verb: Verb, cb: (x: never) => void): void {
    this.callbacks[verb].push(cb);
  }

  emit(verb: Verb, x: unknown): void {
    for (const cb of this.callbacks[verb]) cb(x as never);
  }

  async start(): Promise<void> {
    try {
      const list = await this.list();
      for (const item of list.items) this.emit('add', item);
    } catch (e) {
      this.emit('error', e);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}

/** An API server for one kind: what a list returns, or the error it fails with. */
class FakeKind {
  objects: Json[] = [];
  failure?: Error;
  lists = 0;
  readonly informers: FakeInformer[] = [];

  constructor(readonly kind: string) {}

  target(apiVersion: string): WatchTarget {
    return {
      kind: this.kind,
      apiVersion,
      list: async (): Promise<ListResult> => {
        this.lists++;
        if (this.failure) throw this.failure;
        return { items: this.objects.map((o) => ({ ...o })), metadata: { resourceVersion: '1' } };
      },
      informer: (list) => {
        const i = new FakeInformer(list);
        this.informers.push(i);
        return i;
      },
    };
  }

  get live(): FakeInformer {
    return this.informers[this.informers.length - 1];
  }
}

const svc = (name: string, ip: string, rv = '1'): Json => ({ metadata: { name, namespace: 'default', resourceVersion: rv }, spec: { clusterIP: ip, ports: [{ port: 80 }] } });
const slice = (name: string, addr: string, rv = '1'): Json => ({
  metadata: { name, namespace: 'default', resourceVersion: rv, labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  endpoints: [{ addresses: [addr] }],
  ports: [{ port: 80 }],
});
const nodeObj = (zone: string, rv = '1'): Json => ({
  metadata: { name: 'node-a', resourceVersion: rv, labels: { 'topology.kubernetes.io/zone': zone } },
  status: { addresses: [{ type: 'InternalIP', address: '198.18.0.1' }] },
});

const refused = () => Object.assign(new Error('request to https://198.18.0.1:6443/api/v1/services failed, reason: connect ECONNREFUSED 198.18.0.1:6443'), { code: 'ECONNREFUSED' });

function setup() {
  const services = new FakeKind('Service');
  const slices = new FakeKind('EndpointSlice');
  const nodes = new FakeKind('Node');
  const targets: KubernetesTargets = { services: services.target('v1'), endpointSlices: slices.target('discovery.k8s.io/v1'), node: nodes.target('v1') };
  const events: string[] = [];
  const handlers: KubernetesHandlers = {
    service: (key, s) => events.push(`service ${key} ${s ? s.spec.clusterIP : 'deleted'}`),
    endpointSlice: (key, s) => events.push(`slice ${key} ${s ? s.endpoints[0].addresses[0] : 'deleted'}`),
    node: (n) => events.push(`node ${n ? n.metadata.labels['topology.kubernetes.io/zone'] : 'none'}`),
    synced: () => events.push('synced'),
  };
  const log = new MemoryLogger();
  const source = new KubernetesSource(targets, handlers, log, { initialMs: 500, maxMs: 2000, resetAfterMs: 60_000 });
  return { services, slices, nodes, events, log, source };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('kubernetes source', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('synced only once every informer has listed; objects decoded by the manifest decoders', async () => {
    const { services, slices, nodes, events, log, source } = setup();
    services.objects = [svc('web', '198.19.0.10')];
    slices.objects = [slice('web-1', '198.18.0.11')];
    nodes.failure = refused();
    source.start();
    await flush();
    expect(events).toEqual(['service default/web 198.19.0.10', 'slice default/web-1 198.18.0.11']);
    expect(log.matching(/warn kubernetes: API server unreachable; keeping the programmed state/)).toHaveLength(1);
    expect(log.matching(/warn kubernetes: watch Node failed: connect ECONNREFUSED 198\.18\.0\.1:6443; re-listing in 500ms/)).toHaveLength(1);
    nodes.failure = undefined;
    nodes.objects = [nodeObj('zone-a')];
    jest.advanceTimersByTime(500);
    await flush();
    expect(events.slice(2)).toEqual(['node zone-a', 'synced']);
    expect(log.matching(/info kubernetes: informers synced \(1 services, 1 endpointslices\)/)).toHaveLength(1);
    expect(log.matching(/kubernetes: API server reachable again/)).toHaveLength(1);
    source.stop();
  });

  test('the list replayed by the informer is no news; watch events are', async () => {
    const { services, events, source } = setup();
    services.objects = [svc('web', '198.19.0.10')];
    source.start();
    await flush();
    services.live.emit('add', svc('web', '198.19.0.10'));
    services.live.emit('update', svc('web', '198.19.0.20', '2'));
    services.live.emit('delete', svc('web', '198.19.0.20', '3'));
    expect(events).toEqual(['service default/web 198.19.0.10', 'synced', 'service default/web 198.19.0.20', 'service default/web deleted']);
    source.stop();
  });

  test('a watch failure re-lists after a backoff that doubles up to its cap; the new list replaces what was known, nothing is flushed meanwhile', async () => {
    const { services, events, log, source } = setup();
    services.objects = [svc('a', '198.19.0.1'), svc('b', '198.19.0.2')];
    source.start();
    await flush();
    events.length = 0;
    // The watch breaks; the server is down for three attempts.
    services.failure = refused();
    services.live.emit('error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    expect(services.informers[0].stopped).toBe(true);
    for (const delay of [500, 1000, 2000]) {
      jest.advanceTimersByTime(delay);
      await flush();
    }
    expect(events).toEqual([]);
    expect(log.matching(/re-listing in/).map((l) => /in (\d+)ms/.exec(l)?.[1])).toEqual(['500', '1000', '2000', '2000']);
    expect(log.matching(/API server unreachable/)).toHaveLength(1);
    // Back, with b deleted and c added while it was away.
    services.failure = undefined;
    services.objects = [svc('a', '198.19.0.1'), svc('c', '198.19.0.3')];
    jest.advanceTimersByTime(2000);
    await flush();
    expect(events).toEqual(['service default/b deleted', 'service default/c 198.19.0.3']);
    expect(services.lists).toBe(5);
    source.stop();
  });

  test('events of a replaced informer are ignored', async () => {
    const { services, events, source } = setup();
    source.start();
    await flush();
    const old = services.live;
    old.emit('error', new Error('HTTP 500'));
    old.emit('add', svc('late', '198.19.0.9'));
    jest.advanceTimersByTime(500);
    await flush();
    old.emit('add', svc('later', '198.19.0.9'));
    expect(events).toEqual(['synced']);
    source.stop();
  });

  test('an invalid object is reported as the manifest source reports it and keeps its previous version', async () => {
    const { services, events, log, source } = setup();
    services.objects = [svc('web', '198.19.0.10')];
    source.start();
    await flush();
    services.live.emit('update', { ...svc('web', 'not-an-ip', '2') });
    services.live.emit('add', { ...svc('new', '198.19.0.300', '1') });
    expect(events).toEqual(['service default/web 198.19.0.10', 'synced']);
    expect(log.matching(/error kubernetes: Service default\/web: spec\.clusterIP: "not-an-ip" is not a valid IP address; keeping its previous version/)).toHaveLength(1);
    expect(log.matching(/error kubernetes: Service default\/new: spec\.clusterIP: .*; skipped/)).toHaveLength(1);
    source.stop();
  });

  test('the Node: label changes are delivered; its deletion leaves no node', async () => {
    const { nodes, events, source } = setup();
    nodes.objects = [nodeObj('zone-a')];
    source.start();
    await flush();
    nodes.live.emit('update', nodeObj('zone-b', '2'));
    nodes.live.emit('delete', nodeObj('zone-b', '3'));
    expect(events).toEqual(['node zone-a', 'synced', 'node zone-b', 'node none']);
    source.stop();
  });
});

describe('kubernetes filters and errors', () => {
  test("kube-proxy's selectors", () => {
    expect(PROXY_LABEL_SELECTOR).toBe('!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless');
    expect(nodeFieldSelector('node-a')).toBe('metadata.name=node-a');
  });

  test.each([
    [refused(), 'connect ECONNREFUSED 198.18.0.1:6443', true],
    [Object.assign(new Error('HTTP-Code: 403\nMessage: ...'), { code: 403, body: JSON.stringify({ kind: 'Status', message: 'services is forbidden: User "x" cannot list resource "services"' }) }), 'HTTP 403: services is forbidden: User "x" cannot list resource "services"', false],
    [Object.assign(new Error('Gone'), { statusCode: 410 }), 'HTTP 410: Gone', false],
    [new Error('something else'), 'something else', false],
  ])('%s', (err, why, unreachable) => {
    expect(describeError(err)).toBe(why);
    expect(isUnreachable(err)).toBe(unreachable);
  });
});
