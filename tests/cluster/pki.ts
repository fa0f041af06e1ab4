// The cluster's identities, made once per cluster (kept until make
// cluster-down): one CA for every certificate, a kubeconfig per client. Node
// credentials are plain client certificates (CN=system:node:<name>), so the
// Node authorizer applies without bootstrap tokens.
import * as fs from 'fs';
import * as path from 'path';
import { Ca, issue, KeyPair, makeCa, serviceAccountKeys, writeKubeconfig } from '../e2e/kube_pki';
import { API_SERVER, CLUSTER_DOMAIN, HOST_IP, KUBERNETES_SERVICE_IP, NODES, pkiDir } from './layout';

// A dev cluster lives for days at most; make cluster-down forgets it.
const DAYS = '365';
const KUBECONFIG_NAME = 'kprc';

export interface ClusterPki {
  ca: Ca;
  apiServer: KeyPair;
  /** O=system:masters, for make cluster's own calls and the admin kubeconfig. */
  admin: KeyPair;
  /** What the apiserver shows kubelets for exec, logs and port-forward. */
  kubeletClient: KeyPair;
  saKey: string;
  saPub: string;
  /** Kubeconfig of each client: admin, controller-manager, scheduler, coredns, <node name>. */
  kubeconfigs: Record<string, string>;
  /** Each node's kubelet serving certificate. */
  kubeletServing: Record<string, KeyPair>;
}

function clientKubeconfig(ca: Ca, dir: string, name: string, subject: string): string {
  const pair = issue(ca, dir, name, { subject, usage: 'clientAuth', days: DAYS });
  const file = path.join(dir, `${name}.kubeconfig`);
  writeKubeconfig(file, KUBECONFIG_NAME, API_SERVER, ca.cert, pair);
  return file;
}

function layout(dir: string): ClusterPki {
  const pair = (name: string) => ({ cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) });
  const kubeconfig = (name: string) => path.join(dir, `${name}.kubeconfig`);
  const clients = ['admin', 'controller-manager', 'scheduler', 'coredns', ...NODES.map((n) => n.name)];
  return {
    ca: pair('ca'),
    apiServer: pair('apiserver'),
    admin: pair('admin'),
    kubeletClient: pair('apiserver-kubelet-client'),
    saKey: path.join(dir, 'sa.key'),
    saPub: path.join(dir, 'sa.pub'),
    kubeconfigs: Object.fromEntries(clients.map((c) => [c, kubeconfig(c)])),
    kubeletServing: Object.fromEntries(NODES.map((n) => [n.name, pair(`${n.name}-serving`)])),
  };
}

function make(dir: string): void {
  const ca = makeCa(dir, 'kpr-cluster-ca', DAYS);
  const svc = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${CLUSTER_DOMAIN}`];
  issue(ca, dir, 'apiserver', {
    subject: '/CN=kube-apiserver',
    usage: 'serverAuth',
    sans: [`IP:${HOST_IP}`, 'IP:127.0.0.1', `IP:${KUBERNETES_SERVICE_IP}`, 'DNS:localhost', ...svc.map((s) => `DNS:${s}`)],
    days: DAYS,
  });
  issue(ca, dir, 'apiserver-kubelet-client', { subject: '/O=system:masters/CN=kube-apiserver-kubelet-client', usage: 'clientAuth', days: DAYS });
  serviceAccountKeys(dir);
  clientKubeconfig(ca, dir, 'admin', '/O=system:masters/CN=kpr-cluster-admin');
  clientKubeconfig(ca, dir, 'controller-manager', '/CN=system:kube-controller-manager');
  clientKubeconfig(ca, dir, 'scheduler', '/CN=system:kube-scheduler');
  clientKubeconfig(ca, dir, 'coredns', '/CN=kprc:coredns');
  for (const n of NODES) {
    clientKubeconfig(ca, dir, n.name, `/O=system:nodes/CN=system:node:${n.name}`);
    issue(ca, dir, `${n.name}-serving`, { subject: `/CN=${n.name}`, usage: 'serverAuth', sans: [`IP:${n.ip}`, `DNS:${n.name}`], days: DAYS });
  }
}

/** The cluster's PKI, made on first use; a half-made one (interrupted run) is made anew. */
export function clusterPki(): ClusterPki {
  const dir = pkiDir();
  const done = path.join(dir, '.complete');
  if (!fs.existsSync(done)) {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    make(dir);
    fs.writeFileSync(done, '');
  }
  return layout(dir);
}
