// One node: a containerd and a kubelet inside the node's network namespace and
// inside one private mount namespace of their own. That mount namespace is
// what keeps the host clean: the overlay, tmpfs and netns mounts of pods, a
// tmpfs over /run (shim sockets, pod netns), an overlay over /var/lib and the kernel tunables that the
// kubelet insists on setting (bind-mounted copies) all vanish with its last
// process. Both programs share it because the kubelet's volume mounts must be
// seen by containerd.
import * as fs from 'fs';
import * as path from 'path';
import { cgroup2Mount, ensureCgroupRoot, joinNodeCgroup2, removeCgroupRoot } from './cgroups';
import { daemonPid, killAndWait, processesOfState, startDaemon, stopDaemon } from './daemon';
import { say } from './log';
import { CLUSTER_DOMAIN, DNS_SERVICE_IP, HOST_IP, NODE_CGROUP2, NodeLayout, SANDBOX_IMAGE, kubeTool } from './layout';
import { ClusterPki } from './pki';

const CNI_BIN_DIR = '/usr/lib/cni';
// kubelet's setupKernelTunables: machine-wide knobs, written only to copies here.
const KUBELET_SYSCTLS = ['vm/overcommit_memory', 'vm/panic_on_oom', 'kernel/panic', 'kernel/panic_on_oops', 'kernel/keys/root_maxkeys', 'kernel/keys/root_maxbytes'];
// Paths there are fixed in the programs (libcni's result cache /var/lib/cni,
// the kubelet's /var/lib/kubelet/device-plugins): the nodes see an overlay of
// it whose writes land in their own dir.
const VAR_LIB = '/var/lib';

export const containerdName = (node: NodeLayout) => `${node.name}-containerd`;
export const kubeletName = (node: NodeLayout) => `${node.name}-kubelet`;
export const containerdSocket = (node: NodeLayout) => path.join(node.dir, 'containerd.sock');

function containerdConfig(node: NodeLayout): string {
  const d = (p: string) => JSON.stringify(path.join(node.dir, p));
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  // state and runc's root are per boot: on the node's private /run, they go
  // with the node's mount namespace, never outliving the tasks they describe.
  return `version = 2
root = ${d('containerd/root')}
state = "/run/containerd"

[grpc]
  address = ${JSON.stringify(containerdSocket(node))}

[ttrpc]
  address = ${JSON.stringify(containerdSocket(node) + '.ttrpc')}

[${cri}]
  sandbox_image = "${SANDBOX_IMAGE}"
  # runc cannot raise oom_score_adj here (no CAP_SYS_RESOURCE).
  restrict_oom_score_adj = true

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  # The kubelet's cgroupDriver is cgroupfs; the two must agree.
  SystemdCgroup = false
  Root = "/run/runc"

[${cri}.cni]
  bin_dir = "${CNI_BIN_DIR}"
  conf_dir = ${d('net.d')}

[plugins."io.containerd.internal.v1.opt"]
  path = ${d('opt')}
`;
}

function cniConfig(node: NodeLayout): string {
  return JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'kprc',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          // Pods keep their own source address across nodes (upstream e2e checks source IPs).
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: path.join(node.dir, 'ipam'),
            ranges: node.podCidrs.map((subnet) => [{ subnet }]),
            routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0' }],
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

function kubeletConfig(node: NodeLayout, pki: ClusterPki): string {
  const serving = pki.kubeletServing[node.name];
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v2 has no controllers on these machines: v1 it is.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /${node.name}
# Keeps the kubelet out of the node's iptables: the proxy under test owns them.
makeIPTablesUtilChains: false
containerRuntimeEndpoint: unix://${containerdSocket(node)}
imageServiceEndpoint: unix://${containerdSocket(node)}
podLogsDir: ${path.join(node.dir, 'pod-logs')}
tlsCertFile: ${serving.cert}
tlsPrivateKeyFile: ${serving.key}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${pki.ca.cert}}
authorization: {mode: Webhook}
readOnlyPort: 0
clusterDomain: ${CLUSTER_DOMAIN}
clusterDNS: [${DNS_SERVICE_IP}]
resolvConf: ${path.join(node.dir, 'resolv.conf')}
failSwapOn: false
# Images cannot be pulled again here (no registry): never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
# Two kubelets share one disk that other work fills too; ephemeral-storage
# limits of containers are still enforced.
evictionHard: {memory.available: 100Mi, nodefs.available: "0%", nodefs.inodesFree: "0%", imagefs.available: "0%"}
`;
}

function writeFiles(node: NodeLayout, pki: ClusterPki): void {
  for (const d of ['net.d', 'ipam', 'var-lib/upper', 'var-lib/work', 'kubelet', 'pod-logs', 'opt']) fs.mkdirSync(path.join(node.dir, d), { recursive: true });
  fs.writeFileSync(path.join(node.dir, 'containerd.toml'), containerdConfig(node));
  fs.writeFileSync(path.join(node.dir, 'net.d', '10-kprc.conflist'), cniConfig(node));
  fs.writeFileSync(path.join(node.dir, 'kubelet.yaml'), kubeletConfig(node, pki));
  // Pods with dnsPolicy Default and host-network pods: CoreDNS on the host.
  fs.writeFileSync(path.join(node.dir, 'resolv.conf'), `nameserver ${HOST_IP}\n`);
}

// Runs in the new mount namespace, before exec'ing containerd.
function mountSetup(node: NodeLayout): string {
  const tunables = KUBELET_SYSCTLS.map((s) => {
    const copy = `/run/kprc-sysctl/${s.replace(/\//g, '.')}`;
    return `cat /proc/sys/${s} > ${copy} && mount --bind ${copy} /proc/sys/${s}`;
  });
  return [
    'set -e',
    // Every mount shared within the node, as systemd leaves a machine's: the
    // runtime gives pods HostToContainer propagation (kpr's bpffs) only from a
    // shared or slave mount. Private from the host still: this namespace
    // started private, so its peer groups are its own.
    'mount --make-rshared /',
    'mount -t tmpfs -o mode=0755 kprc-run /run',
    'mkdir -p /run/kprc-sysctl',
    ...tunables,
    // A bpffs of the node's own, where a node agent pins what outlives it, as
    // on a machine whose init mounts /sys/fs/bpf: the two nodes' pins never meet.
    'mount -t bpf kprc-bpf /sys/fs/bpf',
    // The node's cgroup2 subtree, holding all its pods: a socket LB attached
    // at its root balances this node's pods and no other's (charts/kpr
    // cgroup.hostRoot). A path of the node's private /run: the host sees nothing.
    `mkdir -p ${NODE_CGROUP2} && mount --bind ${path.join(cgroup2Mount(), node.name)} ${NODE_CGROUP2}`,
    `mount -t overlay -o lowerdir=${VAR_LIB},upperdir=${path.join(node.dir, 'var-lib', 'upper')},workdir=${path.join(node.dir, 'var-lib', 'work')} kprc-var-lib ${VAR_LIB}`,
    `exec containerd --config ${path.join(node.dir, 'containerd.toml')}`,
  ].join('\n');
}

/** A daemon of the node, in the node's cgroup2 subtree (joinNodeCgroup2). */
function startNodeDaemon(node: NodeLayout, name: string, cmd: string, args: string[]): void {
  joinNodeCgroup2(node.name, startDaemon(name, cmd, args));
}

function startContainerd(node: NodeLayout): void {
  say(`starting containerd on ${node.name}`);
  fs.rmSync(containerdSocket(node), { force: true });
  startNodeDaemon(node, containerdName(node), 'nsenter', [
    `--net=/run/netns/${node.name}`, '--',
    'unshare', '--mount', '--propagation', 'private', '--',
    'sh', '-c', mountSetup(node),
  ]);
}

function startKubelet(node: NodeLayout, pki: ClusterPki, containerdPid: number): void {
  say(`starting kubelet on ${node.name}`);
  startNodeDaemon(node, kubeletName(node), 'nsenter', [
    `--net=/proc/${containerdPid}/ns/net`, `--mount=/proc/${containerdPid}/ns/mnt`, '--',
    kubeTool('kubelet'),
    `--config=${path.join(node.dir, 'kubelet.yaml')}`,
    `--kubeconfig=${pki.kubeconfigs[node.name]}`,
    `--root-dir=${path.join(node.dir, 'kubelet')}`,
    `--cert-dir=${path.join(node.dir, 'kubelet', 'pki')}`,
    `--hostname-override=${node.name}`,
    `--node-ip=${node.ip},${node.ip6}`,
    `--node-labels=topology.kubernetes.io/zone=${node.zone}`,
  ]);
}

/** Starts what is not running; the kubelet follows its containerd (it lives in containerd's mount namespace). */
export async function nodeUp(node: NodeLayout, pki: ClusterPki, waitSocket: (node: NodeLayout) => Promise<void>): Promise<void> {
  writeFiles(node, pki);
  if (daemonPid(containerdName(node)) === undefined) {
    // A new containerd gets a new mount namespace, where the old one's shim
    // sockets are out of reach: the node starts afresh, the kubelet recreates its pods.
    await stopDaemon(kubeletName(node));
    await killAndWait(processesOfState(node.dir), 5_000);
    await removeCgroupRoot(node.name);
    ensureCgroupRoot(node.name);
    startContainerd(node);
  }
  await waitSocket(node);
  const pid = daemonPid(containerdName(node));
  if (pid === undefined) throw new Error(`containerd on ${node.name} exited`);
  if (daemonPid(kubeletName(node)) === undefined) startKubelet(node, pki, pid);
}
