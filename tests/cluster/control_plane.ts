// etcd, kube-apiserver, kube-controller-manager and kube-scheduler as host
// processes. The apiserver binds the bridge address, so that kubelets and pods
// in the node namespaces reach it, and keeps the default endpoint reconciler:
// `kubernetes` then lists that address, as in a real cluster.
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { httpGet } from '../e2e/cluster';
import { daemonPid, startDaemon, waitFor } from './daemon';
import { say } from './log';
import {
  API_PORT, API_SERVER, CLUSTER_DOMAIN, ETCD_CLIENT_URL, ETCD_PEER_URL, HOST_IP, POD_SUPERNETS, CLUSTER_SERVICE_CIDRS, kubeTool, stateDir,
} from './layout';
import { ClusterPki } from './pki';

const START_TIMEOUT_MS = 120_000;

function insecure(): https.RequestOptions {
  return { rejectUnauthorized: false, agent: false };
}

async function etcd(): Promise<void> {
  if (daemonPid('etcd') === undefined) {
    say('starting etcd');
    startDaemon('etcd', kubeTool('etcd'), [
      '--name=kprc',
      `--data-dir=${path.join(stateDir(), 'etcd')}`,
      `--listen-client-urls=${ETCD_CLIENT_URL}`,
      `--advertise-client-urls=${ETCD_CLIENT_URL}`,
      `--listen-peer-urls=${ETCD_PEER_URL}`,
      `--initial-advertise-peer-urls=${ETCD_PEER_URL}`,
      `--initial-cluster=kprc=${ETCD_PEER_URL}`,
      '--initial-cluster-state=new',
      // A dev cluster's data need not survive a machine crash.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
  }
  await waitFor('etcd /health', 'etcd', async () => (await httpGet(`${ETCD_CLIENT_URL}/health`)).detail.includes('"health":"true"'), START_TIMEOUT_MS);
}

async function apiServer(pki: ClusterPki): Promise<void> {
  if (daemonPid('kube-apiserver') === undefined) {
    say('starting kube-apiserver');
    startDaemon('kube-apiserver', kubeTool('kube-apiserver'), [
      `--etcd-servers=${ETCD_CLIENT_URL}`,
      `--bind-address=${HOST_IP}`,
      `--advertise-address=${HOST_IP}`,
      `--secure-port=${API_PORT}`,
      `--cert-dir=${path.join(stateDir(), 'apiserver-certs')}`,
      `--tls-cert-file=${pki.apiServer.cert}`,
      `--tls-private-key-file=${pki.apiServer.key}`,
      `--client-ca-file=${pki.ca.cert}`,
      `--service-cluster-ip-range=${CLUSTER_SERVICE_CIDRS.join(',')}`,
      `--service-account-issuer=https://kubernetes.default.svc.${CLUSTER_DOMAIN}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--authorization-mode=Node,RBAC',
      '--enable-admission-plugins=NodeRestriction',
      // Upstream e2e runs privileged pods.
      '--allow-privileged=true',
      // exec, logs and port-forward: kubelets are reached by node address (their
      // names resolve nowhere) and shown a certificate they check against the CA.
      `--kubelet-client-certificate=${pki.kubeletClient.cert}`,
      `--kubelet-client-key=${pki.kubeletClient.key}`,
      `--kubelet-certificate-authority=${pki.ca.cert}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--profiling=false',
    ]);
  }
  const tls: https.RequestOptions = {
    ca: fs.readFileSync(pki.ca.cert),
    cert: fs.readFileSync(pki.admin.cert),
    key: fs.readFileSync(pki.admin.key),
    agent: false,
  };
  await waitFor('kube-apiserver /readyz', 'kube-apiserver', async () => (await httpGet(`${API_SERVER}/readyz`, tls)).ok, START_TIMEOUT_MS);
}

function componentAuthFlags(kubeconfig: string): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--leader-elect=false',
    // Their own ports stay off the bridge: only this host scrapes them.
    '--bind-address=127.0.0.1',
    '--profiling=false',
  ];
}

async function controllerManager(pki: ClusterPki): Promise<void> {
  if (daemonPid('kube-controller-manager') === undefined) {
    say('starting kube-controller-manager');
    startDaemon('kube-controller-manager', kubeTool('kube-controller-manager'), [
      ...componentAuthFlags(pki.kubeconfigs['controller-manager']),
      '--use-service-account-credentials=true',
      `--root-ca-file=${pki.ca.cert}`,
      `--service-account-private-key-file=${pki.saKey}`,
      `--cluster-signing-cert-file=${pki.ca.cert}`,
      `--cluster-signing-key-file=${pki.ca.key}`,
      `--service-cluster-ip-range=${CLUSTER_SERVICE_CIDRS.join(',')}`,
      // Pod ranges are static (each node's CNI config); make cluster sets
      // spec.podCIDR itself, so node IPAM stays off.
      '--allocate-node-cidrs=false',
      `--cluster-cidr=${POD_SUPERNETS.join(',')}`,
      '--controllers=*',
    ]);
  }
  await waitFor('kube-controller-manager /healthz', 'kube-controller-manager', async () => (await httpGet('https://127.0.0.1:10257/healthz', insecure())).ok, START_TIMEOUT_MS);
}

async function scheduler(pki: ClusterPki): Promise<void> {
  if (daemonPid('kube-scheduler') === undefined) {
    say('starting kube-scheduler');
    startDaemon('kube-scheduler', kubeTool('kube-scheduler'), componentAuthFlags(pki.kubeconfigs.scheduler));
  }
  await waitFor('kube-scheduler /healthz', 'kube-scheduler', async () => (await httpGet('https://127.0.0.1:10259/healthz', insecure())).ok, START_TIMEOUT_MS);
}

export async function controlPlaneUp(pki: ClusterPki): Promise<void> {
  await etcd();
  await apiServer(pki);
  await controllerManager(pki);
  await scheduler(pki);
}

export const CONTROL_PLANE_DAEMONS = ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
