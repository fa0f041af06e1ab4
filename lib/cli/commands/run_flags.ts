// kpr run's flags: their names, help and defaults (run.ts turns them into a
// RunConfig). Names follow Cilium's for the datapath and kube-proxy's for
// the proxy's settings, which can also come from a kube-proxy configuration
// file (--config); flags override the file, and defaults are kube-proxy's.
import { DEFAULT_MAGLEV_SEED, DEFAULT_MAGLEV_TABLE_SIZE, MAGLEV_TABLE_SIZES } from '../../datapath/edge/maglev';
import { EDGE_FLOWS_PER_LB_ENTRY } from '../../datapath/edge/edge_lb';
import { DEFAULT_FLOW_TIMEOUTS, FLOW_TIMEOUT_FLAGS } from '../../datapath/edge/flow_timeouts';
import { defaultSnatPorts, formatPortRanges } from '../../datapath/edge/snat_ports';
import { formatDuration } from '../../duration';
import { KUBE_PROXY_CONNTRACK } from '../../host/conntrack_sysctls';
import { LOG_LEVELS } from '../../log';
import { KUBE_PROXY_NO_LOCAL_ENDPOINTS_GAUGE, NO_LOCAL_ENDPOINTS_GAUGE } from '../../metrics/no_local_endpoints_gauge';
import { CommandSpec } from '../flags';
import { BPF_ROOT, DEFAULT_HEALTHZ, DEFAULT_METRICS, SEED_HELP } from '../shared_flags';

export const SYNC_PERIOD_MS = 30_000;
/** A full pass of the flow collector over every map. */
export const DEFAULT_GC_INTERVAL_MS = 10_000;
/** kube-proxy's minSyncPeriod; standalone mode syncs a saved file at once. */
export const KUBERNETES_MIN_SYNC_PERIOD_MS = 1000;
export const STANDALONE_MIN_SYNC_PERIOD_MS = 0;

export const RUN: CommandSpec = {
  name: 'run',
  summary: 'run the agent: program the socket load balancer from manifests or the Kubernetes API',
  flags: [
    { name: '--manifests', value: 'PATH', help: 'standalone mode: manifest file, or directory of *.yaml, *.yml and *.json files' },
    {
      name: '--kubeconfig',
      value: 'FILE',
      help: 'Kubernetes mode: kubeconfig of the API server; without it and --manifests, the in-cluster service account',
    },
    {
      name: '--k8s-api-server',
      alias: '--master',
      value: 'URL',
      help: "Kubernetes mode: the API server's address, https://HOST[:PORT] or HOST:PORT, in place of the kubeconfig's server or the in-cluster KUBERNETES_SERVICE_HOST and _PORT (which name the kubernetes Service, reachable only once a service proxy serves it); the credentials stay those of the kubeconfig or the service account",
      default: "the kubeconfig's, else in-cluster",
    },
    { name: '--config', value: 'FILE', help: 'kube-proxy configuration file (KubeProxyConfiguration v1alpha1); flags override it' },
    {
      name: '--service-proxy-name',
      alias: '--k8s-service-proxy-name',
      value: 'NAME',
      help: 'serve only the Services labelled service.kubernetes.io/service-proxy-name=NAME (and their EndpointSlices), so that another proxy serves the rest',
      default: 'the Services without that label, as kube-proxy',
    },
    { name: '--hostname-override', value: 'NAME', help: 'name of this node', default: 'NODE_NAME, else the host name' },
    {
      name: '--nodeport-addresses',
      value: 'CIDRS',
      help:
        "comma-separated CIDRs and keywords selecting the node's interface and Node addresses that serve NodePorts, each IP family on its own (a family none of them is of: all its addresses); keywords: primary (the Node's first address of each family), localhost (127.0.0.0/8 and ::1/128), all (0.0.0.0/0 and ::/0); loopback and IPv6 link-local addresses never serve NodePorts",
      default: 'all; primary when --config gives mode nftables',
    },
    { name: '--min-sync-period', value: 'DURATION', help: 'least time between two syncs; 0: sync every change at once', default: '1s; 0s with --manifests' },
    { name: '--sync-period', value: 'DURATION', help: 'a full sync (maps checked and put right, programs put back on their hooks) at least this often', default: formatDuration(SYNC_PERIOD_MS) },
    { name: '--metrics-bind-address', value: 'IP:PORT', help: 'serve /metrics here; port 0: off', default: DEFAULT_METRICS },
    { name: '--healthz-bind-address', value: 'IP:PORT', help: 'serve /healthz and /livez here; port 0: off', default: DEFAULT_HEALTHZ },
    {
      name: '--metrics-per-service',
      value: 'BOOL',
      help: 'true: kpr_* traffic counters per service port too (one series per service port and frontend: as many as the cluster has)',
      default: 'false',
    },
    {
      name: '--metrics-kube-proxy-total-gauge',
      value: 'BOOL',
      help: `true: serve the no-local-endpoints gauge under kube-proxy's name ${KUBE_PROXY_NO_LOCAL_ENDPOINTS_GAUGE} (which promtool rejects: a gauge named like a counter) instead of ${NO_LOCAL_ENDPOINTS_GAUGE}`,
      default: 'false',
    },
    { ...BPF_ROOT, help: `${BPF_ROOT.help}; bpffs is mounted there if it is not` },
    { name: '--procfs', value: 'DIR', help: "the node's procfs, where kube-proxy's conntrack settings are written (Cilium's flag: a container mounts the node's /proc there, its own /proc/sys being read-only)", default: '/proc' },
    { name: '--cgroup-root', value: 'DIR', help: 'cgroup v2 directory to attach to', default: 'the cgroup2 mount in /proc/self/mountinfo' },
    {
      name: '--bpf-object-dir',
      value: 'DIR',
      help: 'where the compiled BPF programs are (sock_lb.o, xdp_lb.o, tc_dsr.o); a new build there replaces the attached programs when the agent restarts',
      default: "the installation's bpf/",
    },
    {
      name: '--bpf-lb-map-max',
      value: 'N',
      help: `entries of the service and backend maps, of the socket and the edge LB; the edge LB's flow and SNAT tables get ${EDGE_FLOWS_PER_LB_ENTRY} times as many`,
      default: '65536',
    },
    { name: '--bpf-lb-sock-rev-nat-map-max', value: 'N', help: 'entries of the UDP reverse translation map', default: '131072' },
    {
      name: '--bpf-fragments-map-max',
      value: 'N',
      help: "entries of the edge LB's fragment map: datagrams arriving (or replies leaving) in IP fragments at once, each followed from its first fragment",
      default: '8192',
    },
    {
      name: '--bpf-lb-mode',
      alias: '--lb-mode',
      value: 'MODE',
      help: "edge LB towards backends on other nodes: snat, dsr (the backend's node answers the client), or hybrid (dsr for TCP, snat for UDP); a service's service.cilium.io/forwarding-mode annotation (dsr or snat) overrides it",
      default: 'snat',
    },
    {
      name: '--bpf-lb-algorithm',
      value: 'ALGORITHM',
      help: "edge LB backend choice: maglev (consistent hashing: every node picks the same backend for a connection) or random; a service's service.cilium.io/lb-algorithm annotation overrides it",
      default: 'maglev',
    },
    { name: '--bpf-lb-maglev-table-size', value: 'M', help: `entries of each service's Maglev table, one of ${MAGLEV_TABLE_SIZES.join(', ')}`, default: String(DEFAULT_MAGLEV_TABLE_SIZE) },
    { name: '--bpf-lb-maglev-hash-seed', value: 'SEED', help: `Maglev hash seed, the same on every node: ${SEED_HELP}`, default: String(DEFAULT_MAGLEV_SEED) },
    {
      name: '--iptables-localhost-nodeports',
      value: 'BOOL',
      help: "true (kube-proxy's iptables default): the node's own processes reach NodePorts on 127.0.0.1 and ::1 too, when --nodeport-addresses takes them in (the socket LB, in the node's network namespace only)",
      default: 'true; false with mode: nftables in --config',
    },
    {
      name: '--bpf-lb-source-range-all-types',
      value: 'BOOL',
      help: "true: a LoadBalancer service's loadBalancerSourceRanges also guard its NodePorts and external IPs; false (kube-proxy's rule): its LoadBalancer IPs only",
      default: 'false',
    },
    {
      name: '--bpf-lb-external-clusterip',
      value: 'BOOL',
      help: 'true: the edge LB also balances ClusterIPs for clients outside the node that route them to it (kube-proxy does); false: only traffic from the node itself reaches them',
      default: 'false',
    },
    { name: '--service-no-backend-response', value: 'RESPONSE', help: 'edge LB, a service without backends: reject (TCP reset) or drop', default: 'reject' },
    {
      name: '--bpf-lb-snat-port-range',
      value: 'MIN-MAX[,MIN-MAX]',
      help: "edge LB, snat mode: the source ports flows get towards a backend, at most two ranges; they must stay clear of the node's ip_local_port_range (ports it serves frontends on are skipped)",
      default: `1024-65535 without ip_local_port_range (${formatPortRanges(defaultSnatPorts({ min: 32768, max: 60999 }))} with Linux's default)`,
    },
    ...FLOW_TIMEOUT_FLAGS.map((f) => ({
      name: f.flag,
      value: 'DURATION',
      help: `edge LB: how long the state of ${f.help} lives once idle (whole seconds); the kernel's ${f.sysctl} by default${f.node ? `. Given, also the node's ${f.sysctl}, as kube-proxy's flag` : ''}`,
      default: formatDuration(DEFAULT_FLOW_TIMEOUTS[f.field] * 1000),
    })),
    {
      name: '--conntrack-max-per-core',
      value: 'N',
      help: "the node's nf_conntrack_max: N per CPU (at least --conntrack-min, at most 1048576), only ever raised, as kube-proxy; 0: left alone",
      default: `${KUBE_PROXY_CONNTRACK.maxPerCore} with Kubernetes, 0 standalone`,
    },
    { name: '--conntrack-min', value: 'N', help: "the least nf_conntrack_max that --conntrack-max-per-core sets", default: `${KUBE_PROXY_CONNTRACK.min} with Kubernetes, 0 standalone` },
    {
      name: '--conntrack-tcp-timeout-close-wait',
      value: 'DURATION',
      help: "the node's nf_conntrack_tcp_timeout_close_wait, as kube-proxy's flag; 0s: left alone",
      default: `${formatDuration((KUBE_PROXY_CONNTRACK.tcpCloseWait as number) * 1000)} with Kubernetes, 0s standalone`,
    },
    { name: '--conntrack-tcp-be-liberal', value: 'BOOL', help: "true: the node's nf_conntrack_tcp_be_liberal is set (out-of-window packets not marked invalid), as kube-proxy's flag", default: 'false' },
    {
      name: '--conntrack-gc-interval',
      value: 'DURATION',
      help: 'edge LB: every flow, affinity, snat and reverse-NAT entry is looked at once per interval (a slice of each map a second), and deleted when its flow is over',
      default: formatDuration(DEFAULT_GC_INTERVAL_MS),
    },
    {
      name: '--bpf-lb-acceleration',
      value: 'MODE',
      help: "edge LB XDP attachment: native (in the driver; fails where the driver has no XDP), generic, best-effort (native where the driver supports it, generic elsewhere), or disabled (no edge LB)",
      default: 'best-effort',
    },
    { name: '--devices', value: 'IFACES', help: 'comma-separated interfaces the edge LB attaches to', default: "the interfaces holding this node's addresses" },
    {
      name: '--bpf-lb-sock-hostns-only',
      value: 'BOOL',
      help: "true: the socket LB translates only the node's own connections, pods' are balanced per packet at their interface (meshes see the service address); false: every pod's too, but for pods (or namespaces) annotated kpr.io/socket-lb: disabled",
      default: 'false',
    },
    {
      name: '--bpf-lb-pod-interfaces',
      value: 'IFACES',
      help: "where the per-packet path serves pods' packets that no socket hook translated (bypassed pods, VMs, sandboxes): auto (every veth or netkit device whose peer is in another network namespace, kept current), none, or comma-separated names and prefixes (lxc+)",
      default: 'auto with Kubernetes, none standalone',
    },
    { name: '--log-level', value: 'LEVEL', help: LOG_LEVELS.join(', '), default: 'info' },
  ],
};
