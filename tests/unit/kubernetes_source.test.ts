import { Json } from '../../lib/sources/field_reader';
import { KubernetesHandlers, KubernetesSource, KubernetesTargets } from '../../lib/sources/kubernetes';
import { ApiStatusError, describeError, isUnreachable } from '../../lib/sources/kubernetes_errors';
import { kubernetesTargets, proxiedHere, proxyLabelSelector } from '../../lib/sources/kubernetes_filters';
import { KubeApi, ListPage, Query, WatchEventType, WatchStream } from '../../lib/sources/kube_api';
import { PAGE_SIZE } from '../../lib/sources/kubernetes_watch';
import { MemoryLogger } from './logger';

/** One watch the source opened: the test sends its events and ends it. */
class FakeWatch implements WatchStream {
  stopped = false;
  private settle!: { resolve: () => void; reject: (e: unknown) => void };
  readonly done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));

  constructor(
    readonly query: Query,
    private readonly event: (type: WatchEventType, object: Json) => void,
  ) {}

  emit(type: WatchEventType, object: Json): void {
    this.event(type, object);
  }

  /** The server ends the watch (its timeout). */
  end(): void {
    this.settle.resolve();
  }

  fail(e: unknown): void {
    this.settle.reject(e);
  }

  stop(): void {
    this.stopped = true;
    this.settle.reject(new Error('aborted'));
  }
}

/** An API server for one kind: its objects, served in pages of PAGE_SIZE,
 *  or the error a list fails with. */
class FakeKind {
  objects: Json[] = [];
  failure?: Error;
  /** Whole lists started (first pages asked for). */
  lists = 0;
  readonly pages: Query[] = [];
  readonly watches: FakeWatch[] = [];
  version = 1;
  /** Fails the next request for a page after the first with this error. */
  continueFailure?: Error;

  constructor(
    readonly kind: string,
    readonly path: string,
  ) {}

  list(query: Query): ListPage {
    this.pages.push(query);
    if (!query.continue) this.lists++;
    if (this.failure) throw this.failure;
    if (query.continue && this.continueFailure) {
      const e = this.continueFailure;
      this.continueFailure = undefined;
      throw e;
    }
    const from = Number(query.continue ?? 0);
    const to = from + Number(query.limit);
    const more = to < this.objects.length;
    return { items: this.objects.slice(from, to).map((o) => structuredClone(o)), metadata: { resourceVersion: String(this.version), ...(more && { continue: String(to) }) } };
  }

  get live(): FakeWatch {
    return this.watches[this.watches.length - 1];
  }
}

class FakeApi implements KubeApi {
  constructor(private readonly kinds: FakeKind[]) {}

  private kind(path: string): FakeKind {
    return this.kinds.find((k) => k.path === path) as FakeKind;
  }

  async list(path: string, query: Query): Promise<ListPage> {
    return this.kind(path).list(query);
  }

  watch(path: string, query: Query, event: (type: WatchEventType, object: Json) => void): WatchStream {
    const w = new FakeWatch(query, event);
    this.kind(path).watches.push(w);
    return w;
  }
}

const svc = (name: string, ip: string, rv = '1'): Json => ({ metadata: { name, namespace: 'default', resourceVersion: rv }, spec: { clusterIP: ip, ports: [{ port: 80 }] } });
const slice = (name: string, addr: string, rv = '1'): Json => ({
  metadata: { name, namespace: 'default', resourceVersion: rv, labels: { 'kubernetes.io/service-name': 'web' } },
  addressType: 'IPv4',
  endpoints: [{ addresses: [addr] }],
  ports: [{ port: 80 }],
});
const nodeObj = (zone: string, rv = '1', name = 'node-a', address = '198.18.0.1'): Json => ({
  metadata: { name, resourceVersion: rv, labels: { 'topology.kubernetes.io/zone': zone } },
  status: { addresses: [{ type: 'InternalIP', address }] },
});

const refused = () => Object.assign(new Error('connect ECONNREFUSED 198.18.0.1:6443'), { code: 'ECONNREFUSED' });
const gone = () => new ApiStatusError(410, { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version: 1 (2)' });

function setup() {
  const targets: KubernetesTargets = kubernetesTargets('node-a');
  const services = new FakeKind('Service', targets.services.path);
  const slices = new FakeKind('EndpointSlice', targets.endpointSlices.path);
  const nodes = new FakeKind('Node', targets.node.path);
  const pods = new FakeKind('Pod', targets.pods.path);
  const namespaces = new FakeKind('Namespace', targets.namespaces.path);
  const serviceCIDRs = new FakeKind('ServiceCIDR', targets.serviceCIDRs.path);
  const events: string[] = [];
  const nodeSets: string[][] = [];
  const handlers: KubernetesHandlers = {
    service: (key, s) => events.push(`service ${key} ${s ? s.spec.clusterIP : 'deleted'}`),
    endpointSlice: (key, s) => events.push(`slice ${key} ${s ? s.endpoints[0].address : 'deleted'}`),
    node: (n) => events.push(`node ${n ? n.metadata.labels['topology.kubernetes.io/zone'] : 'none'}`),
    nodes: (all) => nodeSets.push(all.map((n) => `${n.metadata.name}=${n.status?.addresses?.[0]?.address}`).sort()),
    pod: (key, p) => events.push(`pod ${key} ${p ? p.status?.podIPs?.[0]?.ip : 'deleted'}`),
    namespace: (key, ns) => events.push(`namespace ${key} ${ns ? JSON.stringify(ns.metadata.annotations) : 'deleted'}`),
    serviceCIDR: (key, c) => events.push(`servicecidr ${key} ${c ? c.cidrs.join(',') : 'deleted'}`),
    synced: () => events.push('synced'),
  };
  const log = new MemoryLogger();
  const source = new KubernetesSource(new FakeApi([services, slices, nodes, pods, namespaces, serviceCIDRs]), 'node-a', targets, handlers, log, { initialMs: 500, maxMs: 2000, resetAfterMs: 60_000 });
  return { services, slices, nodes, pods, namespaces, serviceCIDRs, events, nodeSets, log, source };
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** n services, s0 to s<n-1>. */
const manyServices = (n: number) => Array.from({ length: n }, (_, i) => svc(`s${i}`, `198.19.${i >> 8}.${i & 255}`));
const aAndB = () => [svc('a', '198.19.0.1'), svc('b', '198.19.0.2')];

/** A source started on these services, past its first list (whose events are forgotten). */
async function listed(services: Json[]) {
  const s = setup();
  s.services.objects = services;
  s.source.start();
  await flush();
  s.events.length = 0;
  return s;
}

describe('kubernetes source', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test("this node's Pods by a field selector, and the Namespaces; a role that may not list them (kube-proxy's) still syncs, said once", async () => {
    const { pods, namespaces, nodes, events, log, source } = setup();
    nodes.objects = [nodeObj('zone-a')];
    pods.objects = [{ metadata: { name: 'p', namespace: 'apps', resourceVersion: '1' }, spec: { nodeName: 'node-a' }, status: { podIPs: [{ ip: '198.18.1.1' }] } }];
    const forbidden = () => new ApiStatusError(403, { kind: 'Status', code: 403, reason: 'Forbidden' });
    namespaces.failure = forbidden();
    source.start();
    await flush();
    expect(pods.pages[0]).toMatchObject({ fieldSelector: 'spec.nodeName=node-a' });
    expect(events).toEqual(['node zone-a', 'pod apps/p 198.18.1.1', 'synced']);
    jest.advanceTimersByTime(2000);
    await flush();
    expect(log.matching(/warn kubernetes: may not list namespaces \(403\)/)).toHaveLength(1);
    expect(log.matching(/watch Namespace failed/)).toHaveLength(0);
  });

  test('every ServiceCIDR; an API server that serves none (before v1.33: 404) still syncs, said once', async () => {
    const { serviceCIDRs, nodes, events, log, source } = setup();
    nodes.objects = [nodeObj('zone-a')];
    serviceCIDRs.objects = [{ apiVersion: 'networking.k8s.io/v1', kind: 'ServiceCIDR', metadata: { name: 'kubernetes', resourceVersion: '1' }, spec: { cidrs: ['198.19.0.0/16', 'FD00:198:19::/108'] } }];
    source.start();
    await flush();
    expect(events).toEqual(['node zone-a', 'servicecidr kubernetes 198.19.0.0/16,fd00:198:19::/108', 'synced']);

    const old = setup();
    old.nodes.objects = [nodeObj('zone-a')];
    old.serviceCIDRs.failure = new ApiStatusError(404, { kind: 'Status', code: 404, reason: 'NotFound' });
    old.source.start();
    await flush();
    expect(old.events).toEqual(['node zone-a', 'synced']);
    jest.advanceTimersByTime(2000);
    await flush();
    expect(old.log.matching(/warn kubernetes: the API server serves no serviceCIDRs \(404\): unserved addresses of the service CIDRs are not refused/)).toHaveLength(1);
    expect(log.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
    source.stop();
    old.source.stop();
  });

  test('synced only once every kind has been listed; objects decoded by the manifest decoders', async () => {
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

  test('lists in pages with the selectors, then watches from the list\'s version with bookmarks and a random timeout', async () => {
    const { services, nodes, events, source } = setup();
    services.objects = manyServices(2 * PAGE_SIZE + 3);
    services.version = 42;
    source.start();
    await flush();
    expect(services.pages).toEqual([
      { labelSelector: proxyLabelSelector(), limit: String(PAGE_SIZE) },
      { labelSelector: proxyLabelSelector(), limit: String(PAGE_SIZE), continue: String(PAGE_SIZE) },
      { labelSelector: proxyLabelSelector(), limit: String(PAGE_SIZE), continue: String(2 * PAGE_SIZE) },
    ]);
    expect(nodes.pages).toEqual([{ limit: String(PAGE_SIZE) }]);
    expect(events.filter((e) => e.startsWith('service'))).toHaveLength(2 * PAGE_SIZE + 3);
    expect(events[events.length - 1]).toBe('synced');
    const { timeoutSeconds, ...query } = services.live.query;
    expect(query).toEqual({ labelSelector: proxyLabelSelector(), resourceVersion: '42', allowWatchBookmarks: 'true' });
    expect(Number(timeoutSeconds)).toBeGreaterThanOrEqual(300);
    expect(Number(timeoutSeconds)).toBeLessThan(600);
    source.stop();
    expect(services.live.stopped).toBe(true);
  });

  test('a list that repeats what is known is no news; watch events are', async () => {
    const { services, events, source } = setup();
    services.objects = [svc('web', '198.19.0.10')];
    source.start();
    await flush();
    services.live.emit('ADDED', svc('web', '198.19.0.10'));
    services.live.emit('MODIFIED', svc('web', '198.19.0.20', '2'));
    services.live.emit('DELETED', svc('web', '198.19.0.20', '3'));
    expect(events).toEqual(['service default/web 198.19.0.10', 'synced', 'service default/web 198.19.0.20', 'service default/web deleted']);
    source.stop();
  });

  test('a watch the server ends is watched again from the last version seen, bookmarks included, without a list', async () => {
    const { services, source } = await listed([]);
    services.live.emit('BOOKMARK', { metadata: { resourceVersion: '7' } });
    jest.advanceTimersByTime(300_000);
    services.live.end();
    await flush();
    expect(services.watches).toHaveLength(2);
    expect(services.live.query.resourceVersion).toBe('7');
    expect(services.lists).toBe(1);
    source.stop();
  });

  test('a watch ended at once with nothing in it counts as a failure', async () => {
    const { services, log, source } = await listed([]);
    services.live.end();
    await flush();
    expect(log.matching(/watch Service failed: the API server ended the watch at once; re-listing in 500ms/)).toHaveLength(1);
    expect(services.watches).toHaveLength(1);
    jest.advanceTimersByTime(500);
    await flush();
    expect(services.lists).toBe(2);
    source.stop();
  });

  test('an expired watch (410 Gone) re-lists at once, without a backoff: objects deleted meanwhile go, nothing is flushed', async () => {
    const { services, events, log, source } = await listed(aAndB());
    services.objects = [svc('a', '198.19.0.1'), svc('c', '198.19.0.3')];
    services.version = 9;
    services.live.fail(gone());
    await flush();
    expect(events).toEqual(['service default/c 198.19.0.3', 'service default/b deleted']);
    expect(services.lists).toBe(2);
    expect(services.live.query.resourceVersion).toBe('9');
    expect(log.matching(/failed/)).toEqual([]);
    source.stop();
  });

  test('a re-list removes what no page held only after its last page; an expired continue token starts the list over', async () => {
    const { services, events, source } = await listed(manyServices(PAGE_SIZE + 1));
    // s0 is deleted and s-new added; the second page's token expires once.
    services.objects = [...services.objects.slice(1), svc('s-new', '198.19.9.9')];
    services.continueFailure = gone();
    services.live.fail(gone());
    await flush();
    expect(services.lists).toBe(3);
    expect(events).toEqual(['service default/s-new 198.19.9.9', 'service default/s0 deleted']);
    source.stop();
  });

  test('a watch failure re-lists after a backoff that doubles up to its cap; the new list replaces what was known, nothing is flushed meanwhile', async () => {
    const { services, events, log, source } = await listed(aAndB());
    // The watch breaks; the server is down for three attempts.
    services.failure = refused();
    services.live.fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    for (const delay of [500, 1000, 2000]) {
      await flush();
      jest.advanceTimersByTime(delay);
    }
    await flush();
    expect(events).toEqual([]);
    expect(services.watches).toHaveLength(1);
    expect(log.matching(/re-listing in/).map((l) => /in (\d+)ms/.exec(l)?.[1])).toEqual(['500', '1000', '2000', '2000']);
    expect(log.matching(/API server unreachable/)).toHaveLength(1);
    // Back, with b deleted and c added while it was away.
    services.failure = undefined;
    services.objects = [svc('a', '198.19.0.1'), svc('c', '198.19.0.3')];
    jest.advanceTimersByTime(2000);
    await flush();
    expect(events).toEqual(['service default/c 198.19.0.3', 'service default/b deleted']);
    expect(services.lists).toBe(5);
    expect(services.watches).toHaveLength(2);
    source.stop();
  });

  test('a list and watch that ran long before failing starts the backoff over', async () => {
    const { services, log, source } = await listed([]);
    services.live.fail(new ApiStatusError(500, 'internal error'));
    await flush();
    jest.advanceTimersByTime(500);
    await flush();
    jest.advanceTimersByTime(60_000);
    services.live.fail(new ApiStatusError(500, 'internal error'));
    await flush();
    expect(log.matching(/re-listing in/).map((l) => /in (\d+)ms/.exec(l)?.[1])).toEqual(['500', '500']);
    expect(log.matching(/watch Service failed: HTTP 500: Internal Server Error/)).toHaveLength(2);
    source.stop();
  });

  test('events of a failed watch and items of a list stopped midway are ignored', async () => {
    const { services, events, source } = await listed([]);
    const old = services.live;
    old.fail(new Error('HTTP 500'));
    await flush();
    old.emit('ADDED', svc('late', '198.19.0.9'));
    jest.advanceTimersByTime(500);
    await flush();
    old.emit('ADDED', svc('later', '198.19.0.9'));
    expect(events).toEqual([]);
    source.stop();

    const again = setup();
    again.services.objects = [svc('web', '198.19.0.10')];
    again.source.start();
    again.source.stop();
    await flush();
    expect(again.events).toEqual([]);
    expect(again.services.watches).toHaveLength(0);
  });

  test('an invalid object is reported as the manifest source reports it and keeps its previous version', async () => {
    const { services, events, log, source } = setup();
    services.objects = [svc('web', '198.19.0.10')];
    source.start();
    await flush();
    services.live.emit('MODIFIED', svc('web', 'not-an-ip', '2'));
    services.live.emit('ADDED', svc('new', '198.19.0.300', '1'));
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
    nodes.live.emit('MODIFIED', nodeObj('zone-b', '2'));
    nodes.live.emit('DELETED', nodeObj('zone-b', '3'));
    expect(events).toEqual(['node zone-a', 'synced', 'node zone-b', 'node none']);
    source.stop();
  });

  test("other nodes: their addresses are delivered with this node's, without touching this node", async () => {
    const { nodes, events, nodeSets, source } = setup();
    nodes.objects = [nodeObj('zone-a'), nodeObj('zone-b', '1', 'node-b', '198.18.0.2')];
    source.start();
    await flush();
    nodes.live.emit('MODIFIED', nodeObj('zone-b', '2', 'node-b', '198.18.0.3'));
    nodes.live.emit('DELETED', nodeObj('zone-b', '3', 'node-b', '198.18.0.3'));
    expect(events).toEqual(['node zone-a', 'synced']);
    expect(nodeSets.slice(-3)).toEqual([['node-a=198.18.0.1', 'node-b=198.18.0.2'], ['node-a=198.18.0.1', 'node-b=198.18.0.3'], ['node-a=198.18.0.1']]);
    source.stop();
  });
});

describe('kubernetes filters and errors', () => {
  test("kube-proxy's selectors, and Cilium's with a proxy name", () => {
    expect(proxyLabelSelector()).toBe('!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless');
    expect(proxyLabelSelector('kpr')).toBe('service.kubernetes.io/service-proxy-name=kpr,!service.kubernetes.io/headless');
    const t = kubernetesTargets('n', 'kpr');
    expect([t.services.selectors, t.endpointSlices.selectors]).toEqual([{ labelSelector: proxyLabelSelector('kpr') }, { labelSelector: proxyLabelSelector('kpr') }]);
  });

  test.each([
    [{}, undefined, true],
    [{ 'service.kubernetes.io/service-proxy-name': 'x' }, undefined, false],
    [{ 'service.kubernetes.io/service-proxy-name': '' }, undefined, false],
    [{ 'service.kubernetes.io/headless': '' }, undefined, false],
    [{}, 'kpr', false],
    [{ 'service.kubernetes.io/service-proxy-name': 'kpr' }, 'kpr', true],
    [{ 'service.kubernetes.io/service-proxy-name': 'kpr2' }, 'kpr', false],
    [{ 'service.kubernetes.io/service-proxy-name': 'kpr', 'service.kubernetes.io/headless': '' }, 'kpr', false],
  ])('labels %j with proxy name %s: served %s', (labels, name, served) => {
    expect(proxiedHere(labels, name)).toBe(served);
  });

  test.each([
    [refused(), 'connect ECONNREFUSED 198.18.0.1:6443', true],
    [new ApiStatusError(403, { kind: 'Status', message: 'services is forbidden: User "x" cannot list resource "services"' }), 'HTTP 403: services is forbidden: User "x" cannot list resource "services"', false],
    [new ApiStatusError(502, '<html>bad gateway</html>'), 'HTTP 502: Bad Gateway', false],
    [gone(), 'HTTP 410: too old resource version: 1 (2)', false],
    [new Error('something else'), 'something else', false],
  ])('%s', (err, why, unreachable) => {
    expect(describeError(err)).toBe(why);
    expect(isUnreachable(err)).toBe(unreachable);
  });
});
