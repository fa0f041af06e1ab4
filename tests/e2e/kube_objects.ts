// Services, EndpointSlices and Nodes as the e2e tests write them through the
// real API server, with the few builders the tests share.
import * as k8s from '@kubernetes/client-node';

export interface EndpointSpec {
  addr: string;
  nodeName?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface SlicePort {
  name: string;
  port: number;
  protocol?: 'TCP' | 'UDP';
}

export class KubeObjects {
  readonly core: k8s.CoreV1Api;
  readonly discovery: k8s.DiscoveryV1Api;

  constructor(kubeconfig: string) {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  }

  async namespace(name: string): Promise<void> {
    await this.core.createNamespace({ body: { metadata: { name } } });
  }

  /** A Node with its addresses in status (status is a subresource: written apart). */
  async node(name: string, addresses: string[], labels: Record<string, string> = {}): Promise<void> {
    const created = await this.core.createNode({ body: { metadata: { name, labels } } });
    created.status = { addresses: addresses.map((address) => ({ type: 'InternalIP', address })) };
    await this.core.replaceNodeStatus({ name, body: created });
  }

  async createService(namespace: string, name: string, spec: k8s.V1ServiceSpec, labels: Record<string, string> = {}): Promise<k8s.V1Service> {
    return this.core.createNamespacedService({ namespace, body: { metadata: { name, namespace, labels }, spec } });
  }

  /** Read, change, replace: the API server checks the resourceVersion. */
  async updateService(namespace: string, name: string, change: (svc: k8s.V1Service) => void): Promise<k8s.V1Service> {
    const svc = await this.core.readNamespacedService({ namespace, name });
    change(svc);
    return this.core.replaceNamespacedService({ namespace, name, body: svc });
  }

  async deleteService(namespace: string, name: string): Promise<void> {
    await this.core.deleteNamespacedService({ namespace, name });
  }

  /** Creates or replaces the IPv4 (or IPv6) slice of a service. */
  async slice(namespace: string, service: string, ports: SlicePort[], endpoints: EndpointSpec[], opts: SliceOptions = {}): Promise<void> {
    const body = sliceBody(namespace, service, ports, endpoints, opts);
    const name = body.metadata!.name as string;
    try {
      const old = await this.discovery.readNamespacedEndpointSlice({ namespace, name });
      body.metadata!.resourceVersion = old.metadata?.resourceVersion;
      await this.discovery.replaceNamespacedEndpointSlice({ namespace, name, body });
    } catch (e) {
      if ((e as { code?: number }).code !== 404) throw e;
      await this.discovery.createNamespacedEndpointSlice({ namespace, body });
    }
  }

  /** Replaces an existing slice again and again, one request per change
   *  (the version each write returns goes into the next), for a fast stream
   *  of changes. */
  async sliceWriter(namespace: string, service: string, ports: SlicePort[], opts: SliceOptions = {}): Promise<(endpoints: EndpointSpec[]) => Promise<void>> {
    const name = sliceBody(namespace, service, ports, [], opts).metadata!.name as string;
    let resourceVersion = (await this.discovery.readNamespacedEndpointSlice({ namespace, name })).metadata?.resourceVersion;
    return async (endpoints) => {
      const body = sliceBody(namespace, service, ports, endpoints, opts);
      body.metadata!.resourceVersion = resourceVersion;
      resourceVersion = (await this.discovery.replaceNamespacedEndpointSlice({ namespace, name, body })).metadata?.resourceVersion;
    };
  }
}

export interface SliceOptions {
  family?: 'IPv4' | 'IPv6';
  labels?: Record<string, string>;
  name?: string;
}

function sliceBody(namespace: string, service: string, ports: SlicePort[], endpoints: EndpointSpec[], opts: SliceOptions): k8s.V1EndpointSlice {
  const family = opts.family ?? 'IPv4';
  return {
    metadata: {
      name: opts.name ?? `${service}-${family.toLowerCase()}`,
      namespace,
      labels: { 'kubernetes.io/service-name': service, 'endpointslice.kubernetes.io/managed-by': 'kpr-e2e', ...opts.labels },
      annotations: { 'endpoints.kubernetes.io/last-change-trigger-time': new Date().toISOString() },
    },
    addressType: family,
    ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: endpoints.map((e) => ({
      addresses: [e.addr],
      nodeName: e.nodeName,
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
    })),
  };
}
