import { readKubeProxyConfig } from '../../lib/kubeproxy_config';

const HEAD = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n';

/** What kubeadm writes: every field, mostly at kube-proxy's defaults. */
const KUBEADM = `${HEAD}bindAddress: 0.0.0.0
bindAddressHardFail: false
clientConnection:
  acceptContentTypes: ""
  burst: 0
  contentType: ""
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
  qps: 0
clusterCIDR: ""
configSyncPeriod: 0s
conntrack:
  maxPerCore: null
  min: null
  tcpBeLiberal: false
  tcpCloseWaitTimeout: null
  tcpEstablishedTimeout: null
  udpStreamTimeout: 0s
  udpTimeout: 0s
detectLocal:
  bridgeInterface: ""
  interfaceNamePrefix: ""
detectLocalMode: ""
enableProfiling: false
healthzBindAddress: ""
hostnameOverride: ""
iptables:
  localhostNodePorts: null
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
ipvs:
  excludeCIDRs: null
  minSyncPeriod: 0s
  scheduler: ""
  strictARP: false
  syncPeriod: 0s
  tcpFinTimeout: 0s
  tcpTimeout: 0s
  udpTimeout: 0s
logging:
  flushFrequency: 0
  options:
    json:
      infoBufferSize: "0"
    text:
      infoBufferSize: "0"
  verbosity: 0
metricsBindAddress: ""
mode: ""
nftables:
  masqueradeAll: false
  masqueradeBit: null
  minSyncPeriod: 0s
  syncPeriod: 0s
nodePortAddresses: null
oomScoreAdj: null
portRange: ""
showHiddenMetricsForVersion: ""
winkernel:
  enableDSR: false
  forwardHealthCheckVip: false
  networkName: ""
  rootHnsEndpointName: ""
  sourceVip: ""
`;

describe('KubeProxyConfiguration file', () => {
  test("kubeadm's file: only the kubeconfig and the zero sync periods are read, nothing is warned about", () => {
    expect(readKubeProxyConfig(KUBEADM)).toEqual({
      settings: {
        hostnameOverride: undefined,
        kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf',
        metricsBindAddress: undefined,
        healthzBindAddress: undefined,
        bindAddressHardFail: false,
        nodePortAddresses: undefined,
        localhostNodePorts: undefined,
        // Its zero UDP timeouts leave the node's alone, as in kube-proxy.
        conntrack: { tcpBeLiberal: false, udp: 0, udpStream: 0 },
        minSyncPeriodMs: 0,
        syncPeriodMs: 0,
      },
      warnings: [],
    });
  });

  test.each([
    ['iptables periods by default', 'iptables: {minSyncPeriod: 500ms, syncPeriod: 1m30s}', { minSyncPeriodMs: 500, syncPeriodMs: 90_000 }],
    ['nftables periods in nftables mode', 'mode: nftables\nnftables: {minSyncPeriod: 2s, syncPeriod: 1h}', { minSyncPeriodMs: 2000, syncPeriodMs: 3_600_000 }],
    ['ipvs periods in ipvs mode', 'mode: ipvs\nipvs: {minSyncPeriod: 0s, syncPeriod: 45s}', { minSyncPeriodMs: 0, syncPeriodMs: 45_000 }],
    ['addresses, node name, hard fail', 'metricsBindAddress: "[::1]:10249"\nhealthzBindAddress: 0.0.0.0:0\nhostnameOverride: node-a\nbindAddressHardFail: true', { metricsBindAddress: '[::1]:10249', healthzBindAddress: '0.0.0.0:0', hostnameOverride: 'node-a', bindAddressHardFail: true }],
    ['nodePortAddresses, canonical', 'nodePortAddresses: ["198.18.7.1/16", "FD00:198:18::/48"]', { nodePortAddresses: ['198.18.0.0/16', 'fd00:198:18::/48'] }],
    ["nodePortAddresses, kube-proxy's keywords", 'nodePortAddresses: [primary, "198.18.0.0/15", localhost, all]', { nodePortAddresses: ['primary', '198.18.0.0/15', 'localhost', 'all'] }],
    // kube-proxy defaults nodePortAddresses by mode: all (none given) in iptables and ipvs mode, primary in nftables mode.
    ['nodePortAddresses unset, nftables mode: primary', 'mode: nftables', { nodePortAddresses: ['primary'] }],
    ['nodePortAddresses empty, nftables mode: primary', 'mode: nftables\nnodePortAddresses: []', { nodePortAddresses: ['primary'] }],
    ['nodePortAddresses given, nftables mode: as given', 'mode: nftables\nnodePortAddresses: [all]', { nodePortAddresses: ['all'] }],
    ['nodePortAddresses unset, ipvs mode: all addresses', 'mode: ipvs', { nodePortAddresses: undefined }],
    ['nodePortAddresses empty, iptables mode: all addresses', 'mode: iptables\nnodePortAddresses: []', { nodePortAddresses: undefined }],
    ['JSON', '{"apiVersion": "kubeproxy.config.k8s.io/v1alpha1", "kind": "KubeProxyConfiguration", "iptables": {"minSyncPeriod": "3s"}}', { minSyncPeriodMs: 3000 }],
  ])('%s', (_, text, want) => {
    expect(readKubeProxyConfig(text.startsWith('{') ? text : `${HEAD}${text}\n`).settings).toMatchObject(want);
  });

  test.each([
    ['a mode other than the one of the periods', 'mode: nftables\niptables: {minSyncPeriod: 2s}', ['iptables.minSyncPeriod']],
    ['kube-proxy settings the socket LB has no use for', 'conntrack: {maxPerCore: 0, tcpBeLiberal: true}\nipvs: {scheduler: mh}\nmasq: null', 'error'],
    ['kube-proxy settings the socket LB has no use for', 'conntrack: {tcpBeLiberal: true}\nipvs: {scheduler: mh}\nfeatureGates: {A: true}\noomScoreAdj: -500', ['ipvs.scheduler', 'featureGates', 'oomScoreAdj']],
    ["kube-proxy's defaults spelled out", 'oomScoreAdj: -999\nbindAddress: 0.0.0.0\nconfigSyncPeriod: 15m0s\niptables: {masqueradeBit: 14, localhostNodePorts: true}\nportRange: "30000-32767"', []],
  ])('warnings: %s', (_, text, want) => {
    if (want === 'error') expect(() => readKubeProxyConfig(`${HEAD}${text}\n`)).toThrow('masq: unknown field');
    else expect(readKubeProxyConfig(`${HEAD}${text}\n`).warnings).toEqual((want as string[]).map((f) => `${f} is set, but kpr does not apply it`));
  });

  test.each([
    ['', 'file: must hold a KubeProxyConfiguration object'],
    ['apiVersion: v1\nkind: KubeProxyConfiguration', 'apiVersion: must be kubeproxy.config.k8s.io/v1alpha1, got "v1"'],
    ['apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeletConfiguration', 'kind: must be KubeProxyConfiguration, got "KubeletConfiguration"'],
    [`${HEAD}iptables: {minSyncPerod: 1s}`, 'iptables.minSyncPerod: unknown field (not in KubeProxyConfiguration kubeproxy.config.k8s.io/v1alpha1)'],
    [`${HEAD}clientConnection: {kubeConfig: /k}`, 'clientConnection.kubeConfig: unknown field (not in KubeProxyConfiguration kubeproxy.config.k8s.io/v1alpha1)'],
    [`${HEAD}iptables: {syncPeriod: 30}`, 'iptables.syncPeriod: must be a duration such as "1s", "500ms" or "1m30s", got 30'],
    [`${HEAD}iptables: {syncPeriod: 1d}`, 'iptables.syncPeriod: must be a duration such as "1s", "500ms" or "1m30s", got "1d"'],
    [`${HEAD}iptables: 5`, 'iptables: must be an object, got 5'],
    [`${HEAD}bindAddressHardFail: "yes"`, 'bindAddressHardFail: must be true or false, got "yes"'],
    [`${HEAD}nodePortAddresses: [198.18.0.0/15, 198.18.0.1]`, 'nodePortAddresses[1]: "198.18.0.1" is not a CIDR nor one of the keywords primary, localhost, all'],
    [`${HEAD}nodePortAddresses: [primary, all, primary]`, 'nodePortAddresses[2]: "primary" is given twice'],
    [`${HEAD}nodePortAddresses: 198.18.0.0/15`, 'nodePortAddresses: must be a list of strings, got "198.18.0.0/15"'],
    [`${HEAD}mode: userspace`, 'mode: must be one of iptables, ipvs, nftables, kernelspace, got "userspace"'],
    [`${HEAD}mode: [`, 'line 4: unexpected end of the stream within a flow collection'],
  ])('error: %j', (text, message) => {
    expect(() => readKubeProxyConfig(text)).toThrow(message);
  });
});
