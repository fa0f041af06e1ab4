// Which objects kpr asks the API server for, with kube-proxy's selectors, so
// that filtered objects never reach the node at all:
// - Services and EndpointSlices labelled service.kubernetes.io/service-proxy-name
//   belong to another proxy (kube-proxy selects "does not exist": it has no
//   name of its own to match, and neither has kpr);
// - EndpointSlices labelled service.kubernetes.io/headless belong to headless
//   Services, which have no address to load balance.
// The API server applies a label selector to watches too: an object that
// gains such a label is reported deleted.

export const SERVICE_PROXY_NAME_LABEL = 'service.kubernetes.io/service-proxy-name';
export const HEADLESS_LABEL = 'service.kubernetes.io/headless';

/** kube-proxy applies both requirements to both kinds. */
export const PROXY_LABEL_SELECTOR = [SERVICE_PROXY_NAME_LABEL, HEADLESS_LABEL].map((l) => `!${l}`).join(',');

/** Only this node's Node. */
export function nodeFieldSelector(nodeName: string): string {
  return `metadata.name=${nodeName}`;
}
