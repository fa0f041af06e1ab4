// Bootstrap without kube-proxy: in a pod, kpr's in-cluster address of the API
// server is the kubernetes Service's ClusterIP, which nothing serves until kpr
// does. With --k8s-api-server it reaches the real apiserver (cluster.ts) by
// address, with the pod's service account: a token and CA in
// /var/run/secrets/kubernetes.io/serviceaccount, mounted for the agent alone
// in a mount namespace of its own, and no KUBERNETES_SERVICE_* at all.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ApiWriter, Json } from '../bench/control_plane_api';
import { startAgent } from '../helpers/agent';
import { BpfRoot, createBpfRoot, isMountPoint } from '../helpers/bpf_root';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { LineProcess } from '../helpers/line_process';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';
import { createTestDir, TestDir } from '../helpers/test_dir';
import { Cluster, REPO_ROOT, startCluster } from './cluster';
import { KubeObjects } from './kube_objects';
import { serviceProgrammed } from './service_programmed';

jest.setTimeout(120_000);

const KPR = path.join(REPO_ROOT, 'bin', 'kpr');
const NODE = 'apiaddr-node';
const ACCOUNT = 'kpr';

/** A pod's view for the agent: a tmpfs over /run (so /var/run) holding only the
 *  service account's directory, and the kubelet's service variables unset. */
function podWrapper(serviceAccountDir: string): string[] {
  const script = [
    'mount -t tmpfs -o size=1m,mode=755 kpr-pod-run /run',
    'mkdir -p /run/secrets/kubernetes.io/serviceaccount',
    'mount --bind "$0" /run/secrets/kubernetes.io/serviceaccount',
    'exec "$@"',
  ].join(' && ');
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-ec', script, serviceAccountDir, 'env', '-u', 'KUBERNETES_SERVICE_HOST', '-u', 'KUBERNETES_SERVICE_PORT'];
}

describe('--k8s-api-server: the API server by address, without a service proxy', () => {
  let cluster: Cluster;
  let dir: TestDir;
  let cgroup: TestCgroup;
  let bpfRoot: BpfRoot;
  let agent: LineProcess | undefined;
  let serviceAccountDir: string;

  beforeAll(async () => {
    assertPrivileged();
    cluster = await startCluster({ prefix: 'apiaddr' });
    dir = createTestDir('apiaddr');
    const api = new ApiWriter(cluster, 1);
    await api.request('POST', '/api/v1/namespaces/kube-system/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: ACCOUNT } });
    // kube-proxy's own role: what a node's service proxy may read and write.
    await api.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kpr-apiaddr' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:node-proxier' },
      subjects: [{ kind: 'ServiceAccount', name: ACCOUNT, namespace: 'kube-system' }],
    });
    const request = await api.request('POST', `/api/v1/namespaces/kube-system/serviceaccounts/${ACCOUNT}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: { expirationSeconds: 3600 },
    });
    serviceAccountDir = path.join(dir.path, 'serviceaccount');
    fs.mkdirSync(serviceAccountDir);
    fs.writeFileSync(path.join(serviceAccountDir, 'token'), String((request.status as Json).token));
    fs.copyFileSync(cluster.caFile, path.join(serviceAccountDir, 'ca.crt'));
    cgroup = createTestCgroup('apiaddr');
    bpfRoot = createBpfRoot('apiaddr');
    // The node's bpffs, as the chart's init container mounts it: one the agent
    // mounted itself would stay inside its mount namespace, out of kpr services' sight.
    if (!isMountPoint(bpfRoot.path)) run('mount', ['-t', 'bpf', 'bpf', bpfRoot.path]);
  });
  afterAll(async () => {
    await agent?.stop('SIGTERM');
    bpfRoot?.destroy();
    cgroup?.destroy();
    dir?.destroy();
    await cluster?.stop();
  });

  test('without KUBERNETES_SERVICE_HOST and _PORT, nor the flag, the pod cannot start kpr, and says what to set', () => {
    const [cmd, ...args] = [...podWrapper(serviceAccountDir), KPR, 'run', '--bpf-root', bpfRoot.path, '--cgroup-root', cgroup.path];
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
    expect({ status: r.status, stderr: r.stderr }).toEqual({
      status: 2,
      stderr: 'kpr run: flag --manifests, --kubeconfig or --k8s-api-server is required outside a cluster (KUBERNETES_SERVICE_HOST is not set)\nsee "kpr run --help"\n',
    });
  });

  test('with the flag, the service account alone: it lists and watches, and programs a new Service', async () => {
    agent = await startAgent({
      inCluster: true,
      bpfRoot: bpfRoot.path,
      cgroupRoot: cgroup.path,
      wrapper: podWrapper(serviceAccountDir),
      args: ['--k8s-api-server', cluster.server, '--hostname-override', NODE, '--metrics-bind-address=127.0.0.1:0', '--healthz-bind-address=127.0.0.1:0'],
    });
    expect(agent.lines.join('\n')).toContain(`kubernetes: watching ${cluster.server}/ as node ${NODE}`);

    const kube = new KubeObjects(cluster.kubeconfig);
    const { listing, want } = await serviceProgrammed(kube, 'apiaddr', NODE, bpfRoot.path);
    for (const w of want) expect(listing).toContain(w);
    expect(agent.lines.join('\n')).not.toMatch(/forbidden|unauthorized/i);
  });
});
