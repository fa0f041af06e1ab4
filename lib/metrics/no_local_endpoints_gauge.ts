// The gauge of service ports whose Local traffic policy finds no local
// endpoint. kube-proxy names it like a counter, which promtool rejects, so
// kpr serves it under its own name unless --metrics-kube-proxy-total-gauge
// asks for kube-proxy's (for dashboards written against kube-proxy).
export const KUBE_PROXY_NO_LOCAL_ENDPOINTS_GAUGE = 'kubeproxy_sync_proxy_rules_no_local_endpoints_total';
export const NO_LOCAL_ENDPOINTS_GAUGE = 'kpr_services_without_local_endpoints';
