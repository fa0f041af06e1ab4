// Which objects kpr asks the API server for, with kube-proxy's selectors, so
// that filtered objects never reach the node at all:
// - Services and EndpointSlices labelled service.kubernetes.io/service-proxy-name
//   belong to another proxy (kube-proxy selects "does not exist": it has no
//   name of its own to match, and neither has kpr);
// - EndpointSlices labelled service.kubernetes.io/headless belong to headless
//   Services, which have no address to load balance.
// The API server applies a label selector to watches too: an object that
// gains such a label is reported deleted.
import { KubernetesTargets } from './kubernetes';

export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

/** kube-proxy applies both requirements to both kinds. */
export const PROXY_LABEL_SELECTOR = [SERVICE_PROXY_NAME_LABEL, HEADLESS_LABEL].map((l) => `!${l}`).join(',');

/** The collections kpr lists and watches, with these selectors. Every
 *  Node, not only this one: the edge LB tunnels to the nodes that host
 *  backends (Node objects are few, and kpr keeps only their addresses).
 *  Only this node's Pods, as the kubelet watches them, and every Namespace:
 *  both only for the socket-LB bypass (socket_lb_bypass.ts). */
export function kubernetesTargets(nodeName: string): KubernetesTargets {
  const proxied = { labelSelector: PROXY_LABEL_SELECTOR };
  return {
    services: { kind: 'Service', apiVersion: 'v1', path: '/api/v1/services', selectors: proxied },
    endpointSlices: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', path: '/apis/discovery.k8s.io/v1/endpointslices', selectors: proxied },
    node: { kind: 'Node', apiVersion: 'v1', path: '/api/v1/nodes', selectors: {} },
    pods: { kind: 'Pod', apiVersion: 'v1', path: '/api/v1/pods', selectors: { fieldSelector: `spec.nodeName=${nodeName}` } },
    namespaces: { kind: 'Namespace', apiVersion: 'v1', path: '/api/v1/namespaces', selectors: {} },
  };
}
