// The Kubernetes source's connection: a kubeconfig file or the in-cluster
// service account, and one client-node ListWatch per kind. This is the only
// file that loads @kubernetes/client-node (an ES module, large): the agent
// imports it only in Kubernetes mode.
import * as k8s from '@kubernetes/client-node';
import { KubernetesTargets } from './kubernetes';
import { nodeFieldSelector, PROXY_LABEL_SELECTOR } from './kubernetes_filters';
import { Informer, ListFn, ListResult, WatchTarget } from './kubernetes_watch';

/** client-go's bounds for a watch's life: the server ends it after a random
 *  time in this range, and the informer re-watches from where it was, so a
 *  connection that died without a word is found out within that time. */
const WATCH_TIMEOUT_S = [300, 600];

/** A kubeconfig file, or else the service account of the pod kpr runs in. */
export function loadKubeConfig(kubeconfig: string | undefined): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (kubeconfig) kc.loadFromFile(kubeconfig);
  else kc.loadFromCluster();
  if (!kc.getCurrentCluster()) throw new Error(`${kubeconfig ?? 'in-cluster config'}: no current cluster`);
  return kc;
}

export function apiServer(kc: k8s.KubeConfig): string {
  return kc.getCurrentCluster()?.server ?? '';
}

/** client-node hands list items over as class instances with Date fields;
 *  the decoders take JSON as the API server sends it, as watch events are. */
async function plain(list: Promise<unknown>): Promise<ListResult> {
  return JSON.parse(JSON.stringify(await list)) as ListResult;
}

function target(kc: k8s.KubeConfig, kind: string, apiVersion: string, path: string, list: ListFn, selectors: { label?: string; field?: string }): WatchTarget {
  const informer = (listFn: ListFn): Informer => {
    const [min, max] = WATCH_TIMEOUT_S;
    const timeout = Math.floor(min + Math.random() * (max - min));
    // Bookmarks keep the resource version fresh, so a re-watch rarely finds it expired.
    const watchPath = `${path}?timeoutSeconds=${timeout}&allowWatchBookmarks=true`;
    const lw = new k8s.ListWatch(watchPath, new k8s.Watch(kc), listFn as unknown as k8s.ListPromise<k8s.KubernetesObject>, false, selectors.label, selectors.field);
    return lw as unknown as Informer;
  };
  return { kind, apiVersion, list, informer };
}

export function kubernetesTargets(kc: k8s.KubeConfig, nodeName: string): KubernetesTargets {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const discovery = kc.makeApiClient(k8s.DiscoveryV1Api);
  const label = PROXY_LABEL_SELECTOR;
  const field = nodeFieldSelector(nodeName);
  return {
    services: target(kc, 'Service', 'v1', '/api/v1/services', () => plain(core.listServiceForAllNamespaces({ labelSelector: label })), { label }),
    endpointSlices: target(
      kc,
      'EndpointSlice',
      'discovery.k8s.io/v1',
      '/apis/discovery.k8s.io/v1/endpointslices',
      () => plain(discovery.listEndpointSliceForAllNamespaces({ labelSelector: label })),
      { label },
    ),
    node: target(kc, 'Node', 'v1', '/api/v1/nodes', () => plain(core.listNode({ fieldSelector: field })), { field }),
  };
}
