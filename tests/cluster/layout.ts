// Names, addresses, ports and paths of the two-node cluster of `make cluster`.
// Everything the cluster makes on the host is named kprc-*: tests name theirs
// kprt-<pid>-..., so their leftover sweep never takes the cluster for a leak.
// Addresses are inside the project's test ranges and used by no test or bench.
// The cluster is dual-stack, IPv4 first (upstream's secondary-family tests run
// on IPv6):
//   198.18.170.0/24  fd00:198:18:170::/64    bridge kprc0: host .1/::1, node1 .11/::11, node2 .12/::12
//   198.18.171.0/24                          LoadBalancer ingress IPs (lb_provider.ts), routed by the host to the nodes
//   198.18.176.0/20  fd00:198:18:1100::/56   pod ranges: node1 198.18.177.0/24 fd00:198:18:1177::/64,
//                                            node2 198.18.178.0/24 fd00:198:18:1178::/64
//   198.19.0.0/17    fd00:198:18:1::/108     ClusterIPs (CLUSTER_SERVICE_CIDRS; the loopback harness's
//                                            IPv4 range is all of 198.19.0.0/16)
//   198.19.200.1                             the host as an outside client (OUTSIDE_CLIENT_IP): upstream
//                                            takes a source inside a node's /16 for one NAT'd on the way
import * as os from 'os';
import * as path from 'path';
import { SERVICE_CIDRS, kprCacheDir, kubeVersions } from '../e2e/cluster';

export const BRIDGE = 'kprc0';
export const HOST_IP = '198.18.170.1';
export const HOST_IP6 = 'fd00:198:18:170::1';
export const BRIDGE_PREFIX = 24;
export const BRIDGE_PREFIX6 = 64;
export const POD_SUPERNETS = ['198.18.176.0/20', 'fd00:198:18:1100::/56'];
export const LB_POOL = '198.18.171.0/24';
/** The daemon name of lb_provider.ts. */
export const LB_PROVIDER = 'lb-provider';
/** Outside every node's /16 (upstream's ETP=Local tests check a preserved
 *  source against it) and outside the ClusterIP range: the source the host
 *  uses towards LoadBalancer IPs. */
export const OUTSIDE_CLIENT_IP = '198.19.200.1';
export const CLUSTER_SERVICE_CIDRS = ['198.19.0.0/17', SERVICE_CIDRS[1]];
export const KUBERNETES_SERVICE_IP = '198.19.0.1';
export const DNS_SERVICE_IP = '198.19.0.10';
export const CLUSTER_DOMAIN = 'cluster.local';

export const API_PORT = 6443;
export const API_SERVER = `https://${HOST_IP}:${API_PORT}`;
// etcd is reached by the apiserver alone.
export const ETCD_CLIENT_URL = 'http://127.0.0.1:2379';
export const ETCD_PEER_URL = 'http://127.0.0.1:2380';
export const COREDNS_READY_URL = `http://${HOST_IP}:8181/ready`;

/** Inside each node's mount namespace: that node's cgroup2 subtree, its pods' cgroups. */
export const NODE_CGROUP2 = '/run/kprc-cgroup2';

export const SANDBOX_IMAGE = 'registry.k8s.io/pause:3.10.2';

export interface NodeLayout {
  /** Node name, network namespace name and kubelet cgroupRoot. */
  name: string;
  /** The IPv4 address, the node's first (the cluster's primary family). */
  ip: string;
  ip6: string;
  /** IPv4 first, as in spec.podCIDRs. */
  podCidrs: string[];
  zone: string;
  /** Host end of the node's veth (<= 15 characters). */
  hostVeth: string;
  dir: string;
}

export function stateDir(): string {
  return path.join(kprCacheDir(), 'cluster');
}

export const NODES: NodeLayout[] = [
  { name: 'kprc-node1', ip: '198.18.170.11', ip6: 'fd00:198:18:170::11', podCidrs: ['198.18.177.0/24', 'fd00:198:18:1177::/64'], zone: 'zone-a', hostVeth: 'kprc-node1' },
  { name: 'kprc-node2', ip: '198.18.170.12', ip6: 'fd00:198:18:170::12', podCidrs: ['198.18.178.0/24', 'fd00:198:18:1178::/64'], zone: 'zone-b', hostVeth: 'kprc-node2' },
].map((n) => ({ ...n, dir: path.join(stateDir(), n.name) }));

export const ADMIN_KUBECONFIG = path.join(os.homedir(), '.kube', 'kpr-cluster.yaml');

export function pkiDir(): string {
  return path.join(stateDir(), 'pki');
}

export function logDir(): string {
  return path.join(stateDir(), 'logs');
}

export function netnsPath(node: NodeLayout): string {
  return `/run/netns/${node.name}`;
}

/** ${KPR_CACHE}/kube/<version>/{bin,cluster-bin}/<name>, as scripts/build-kube.sh lays them out. */
export function kubeTool(name: string): string {
  const dir = path.join(kprCacheDir(), 'kube', kubeVersions().KUBE_VERSION);
  const inBin = ['etcd', 'kube-apiserver', 'kube-proxy'].includes(name);
  return path.join(dir, inBin ? 'bin' : 'cluster-bin', name);
}

/** Where scripts/build-images.sh leaves image archives (docker-save or OCI layout tars). */
export function imagesDir(): string {
  return process.env.KPR_IMAGES || path.join(kprCacheDir(), 'images');
}
