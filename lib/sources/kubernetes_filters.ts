// Which Services and EndpointSlices this proxy serves, decided by their labels
// as kube-proxy and Cilium decide it, and which objects kpr asks the API
// server for:
// - service.kubernetes.io/service-proxy-name names the proxy that serves an
//   object. Without --service-proxy-name kpr serves only unlabelled objects
//   (kube-proxy's "does not exist"); with one it serves only the objects
//   labelled with that name (Cilium's --k8s-service-proxy-name), so two
//   proxies can share a cluster by label;
// - EndpointSlices labelled service.kubernetes.io/headless belong to headless
//   Services, which have no address to load balance.
// The API server applies the selector to lists and watches (an object that
// gains or loses such a label is reported deleted or added); standalone mode
// applies the same predicate to the manifests' objects.
import { KubernetesTargets } from './kubernetes';

export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

/** A label value (RFC 1123-ish, at most 63 characters), as the API server
 *  validates it: a name no object could carry would claim nothing. */
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

export function validServiceProxyName(name: string): boolean {
  return LABEL_VALUE.test(name);
}

/** Both requirements apply to both kinds, as in kube-proxy. */
export function proxyLabelSelector(proxyName?: string): string {
  const claim = proxyName === undefined ? `!${SERVICE_PROXY_NAME_LABEL}` : `${SERVICE_PROXY_NAME_LABEL}=${proxyName}`;
  return `${claim},!${HEADLESS_LABEL}`;
}

/** The selector's meaning, for objects that do not come through the API server. */
export function proxiedHere(labels: Record<string, string>, proxyName?: string): boolean {
  if (HEADLESS_LABEL in labels) return false;
  return proxyName === undefined ? !(SERVICE_PROXY_NAME_LABEL in labels) : labels[SERVICE_PROXY_NAME_LABEL] === proxyName;
}

/** The collections kpr lists and watches, with these selectors. Every
 *  Node, not only this one: the edge LB tunnels to the nodes that host
 *  backends (Node objects are few, and kpr keeps only their addresses).
 *  Only this node's Pods, as the kubelet watches them, and every Namespace:
 *  both only for the socket-LB bypass (socket_lb_bypass.ts) and hostPorts.
 *  Every ServiceCIDR: their unserved addresses are refused (refused_addresses.ts). */
export function kubernetesTargets(nodeName: string, proxyName?: string): KubernetesTargets {
  const proxied = { labelSelector: proxyLabelSelector(proxyName) };
  return {
    services: { kind: 'Service', apiVersion: 'v1', path: '/api/v1/services', selectors: proxied },
    endpointSlices: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', path: '/apis/discovery.k8s.io/v1/endpointslices', selectors: proxied },
    node: { kind: 'Node', apiVersion: 'v1', path: '/api/v1/nodes', selectors: {} },
    pods: { kind: 'Pod', apiVersion: 'v1', path: '/api/v1/pods', selectors: { fieldSelector: `spec.nodeName=${nodeName}` } },
    namespaces: { kind: 'Namespace', apiVersion: 'v1', path: '/api/v1/namespaces', selectors: {} },
    serviceCIDRs: { kind: 'ServiceCIDR', apiVersion: 'networking.k8s.io/v1', path: '/apis/networking.k8s.io/v1/servicecidrs', selectors: {} },
  };
}
