// How long the edge LB keeps a flow's state once the flow is idle
// (bpf/include/kpr_flow_lifetime.h): by default the kernel's conntrack
// timeouts, which kube-proxy's NAT lives by; each one a flag named after
// kube-proxy's conntrack flags where kube-proxy has one. Those are
// kube-proxy's settings of the node's conntrack too, and given, set it as
// well (host/conntrack_sysctls.ts).
import type { ConntrackSettings } from '../../host/conntrack_sysctls';
import type { FlowTimeouts } from '../native';

export interface FlowTimeoutFlag {
  flag: string;
  field: keyof FlowTimeouts;
  /** kube-proxy's flag: the node's conntrack setting it also is. */
  node?: Exclude<keyof ConntrackSettings, 'maxPerCore' | 'min' | 'tcpBeLiberal'>;
  /** The conntrack sysctl whose default it takes (net.netfilter.*). */
  sysctl: string;
  help: string;
}

/** nf_conntrack's defaults (Documentation/networking/nf_conntrack-sysctl.rst). */
export const DEFAULT_FLOW_TIMEOUTS: FlowTimeouts = {
  tcpEstablished: 432_000,
  tcpSyn: 120,
  tcpFin: 120,
  tcpClose: 10,
  udp: 30,
  udpStream: 120,
};

export const FLOW_TIMEOUT_FLAGS: readonly FlowTimeoutFlag[] = [
  { flag: '--conntrack-tcp-timeout-established', field: 'tcpEstablished', node: 'tcpEstablished', sysctl: 'nf_conntrack_tcp_timeout_established', help: 'an idle TCP flow past its handshake' },
  { flag: '--conntrack-tcp-timeout-syn', field: 'tcpSyn', sysctl: 'nf_conntrack_tcp_timeout_syn_sent', help: "a TCP flow of which only the client's SYN was seen" },
  { flag: '--conntrack-tcp-timeout-fin', field: 'tcpFin', sysctl: 'nf_conntrack_tcp_timeout_time_wait', help: 'a TCP flow once a FIN was seen' },
  { flag: '--conntrack-tcp-timeout-close', field: 'tcpClose', sysctl: 'nf_conntrack_tcp_timeout_close', help: 'a TCP flow once a RST was seen' },
  { flag: '--conntrack-udp-timeout', field: 'udp', node: 'udp', sysctl: 'nf_conntrack_udp_timeout', help: 'a UDP flow with no packet after its first reply' },
  { flag: '--conntrack-udp-timeout-stream', field: 'udpStream', node: 'udpStream', sysctl: 'nf_conntrack_udp_timeout_stream', help: 'a UDP flow with packets after a reply' },
];
