// Cluster DNS as a host process on the bridge address: it works before any
// image exists and whatever the proxy under test does. Pods reach it as the
// kube-dns Service, whose hand-made EndpointSlice points at the host; so DNS
// from pods works once a proxy (kpr or kube-proxy) serves ClusterIPs.
import * as fs from 'fs';
import * as path from 'path';
import { httpGet } from '../e2e/cluster';
import { daemonPid, startDaemon, waitFor } from './daemon';
import { Kubectl } from './kubectl';
import { say } from './log';
import { CLUSTER_DOMAIN, COREDNS_READY_URL, DNS_SERVICE_IP, HOST_IP, kubeTool, stateDir } from './layout';
import { ClusterPki } from './pki';

const COREDNS_USER = 'kprc:coredns';

// kubeadm's Corefile without forward and loop: nothing upstream is reachable,
// and the host's resolver may point back here.
function corefile(pki: ClusterPki): string {
  return `.:53 {
    bind ${HOST_IP}
    errors
    ready ${HOST_IP}:8181
    kubernetes ${CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {
        kubeconfig ${pki.kubeconfigs.coredns} kprc
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    cache 30
    loadbalance
}
`;
}

// What the kubernetes plugin reads (kubeadm's system:coredns role).
const RBAC = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: COREDNS_USER },
      rules: [
        { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: COREDNS_USER },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: COREDNS_USER },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: COREDNS_USER }],
    },
  ],
};

const DNS_PORTS = [
  { name: 'dns', port: 53, protocol: 'UDP' },
  { name: 'dns-tcp', port: 53, protocol: 'TCP' },
];

const SERVICE = {
  apiVersion: 'v1',
  kind: 'List',
  items: [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns', 'kubernetes.io/name': 'CoreDNS' } },
      // No selector: the endpoint is the host, below.
      spec: { clusterIP: DNS_SERVICE_IP, ports: DNS_PORTS.map((p) => ({ ...p, targetPort: 53 })) },
    },
    {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'kube-dns-host',
        namespace: 'kube-system',
        labels: { 'kubernetes.io/service-name': 'kube-dns', 'endpointslice.kubernetes.io/managed-by': 'kpr-cluster' },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [HOST_IP], conditions: { ready: true } }],
      ports: DNS_PORTS,
    },
  ],
};

export async function coreDnsUp(pki: ClusterPki, kubectl: Kubectl): Promise<void> {
  kubectl(['apply', '-f', '-'], JSON.stringify(RBAC));
  kubectl(['apply', '-f', '-'], JSON.stringify(SERVICE));
  const conf = path.join(stateDir(), 'Corefile');
  fs.writeFileSync(conf, corefile(pki));
  if (daemonPid('coredns') === undefined) {
    say('starting coredns');
    startDaemon('coredns', kubeTool('coredns'), ['-conf', conf]);
  }
  await waitFor('coredns /ready', 'coredns', async () => (await httpGet(COREDNS_READY_URL)).ok, 60_000);
}
