// make cluster's self check: both nodes registered, given their pod range,
// Ready, and running a pod each (placed by the scheduler, sandboxed by
// containerd with the bridge CNI, a service-account token mounted).
import { sleep } from '../helpers/sleep';
import { waitFor } from './daemon';
import { Kubectl } from './kubectl';
import { say } from './log';
import { NODES, NodeLayout, SANDBOX_IMAGE } from './layout';
import { kubeletName } from './node';

const NODE_TIMEOUT_MS = 120_000;
const POD_TIMEOUT_MS = 120_000;

interface NodeObject {
  metadata: { name: string };
  spec: { podCIDR?: string };
  status?: { conditions?: { type: string; status: string }[] };
}

function getNode(kubectl: Kubectl, node: NodeLayout): NodeObject | undefined {
  try {
    return JSON.parse(kubectl(['get', 'node', node.name, '-o', 'json'])) as NodeObject;
  } catch {
    return undefined;
  }
}

const isReady = (n?: NodeObject) => !!n?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

export async function waitNodesReady(kubectl: Kubectl): Promise<void> {
  for (const node of NODES) {
    await waitFor(`node ${node.name} registered`, kubeletName(node), async () => getNode(kubectl, node) !== undefined, NODE_TIMEOUT_MS);
    // Set once, from empty (the API refuses a change): the range of its CNI config.
    if (!getNode(kubectl, node)?.spec.podCIDR) {
      kubectl(['patch', 'node', node.name, '--type=merge', '-p', JSON.stringify({ spec: { podCIDR: node.podCidrs[0], podCIDRs: node.podCidrs } })]);
    }
  }
  for (const node of NODES) {
    say(`waiting for ${node.name} to be Ready`);
    await waitFor(`node ${node.name} Ready`, kubeletName(node), async () => isReady(getNode(kubectl, node)), NODE_TIMEOUT_MS);
  }
}

function checkPod(node: NodeLayout): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `kprc-check-${node.name}`, namespace: 'default', labels: { app: 'kprc-check' } },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node.name },
      containers: [{ name: 'pause', image: SANDBOX_IMAGE, imagePullPolicy: 'Never' }],
      terminationGracePeriodSeconds: 0,
    },
  };
}

export async function checkPodsRun(kubectl: Kubectl): Promise<void> {
  say('checking that a pod runs on each node');
  kubectl(['delete', 'pod', '-n', 'default', '-l', 'app=kprc-check', '--grace-period=0', '--force', '--wait=true'], undefined);
  const list = { apiVersion: 'v1', kind: 'List', items: NODES.map(checkPod) };
  // The namespace's default ServiceAccount appears a moment after a first start.
  for (let attempt = 0; ; attempt++) {
    try {
      kubectl(['create', '-f', '-'], JSON.stringify(list));
      break;
    } catch (e) {
      if (attempt >= 60) throw e;
      await sleep(500);
    }
  }
  try {
    kubectl(['wait', '-n', 'default', 'pod', '-l', 'app=kprc-check', '--for=condition=Ready', `--timeout=${POD_TIMEOUT_MS / 1000}s`]);
  } catch (e) {
    const detail = kubectl(['get', 'events', '-n', 'default', '--sort-by=.lastTimestamp']).split('\n').slice(-15).join('\n');
    throw new Error(`${(e as Error).message}\n--- events ---\n${detail}`);
  }
  const wide = kubectl(['get', 'pod', '-n', 'default', '-l', 'app=kprc-check', '-o', 'wide', '--no-headers']);
  for (const line of wide.trim().split('\n')) say(`  ${line.replace(/\s+/g, ' ')}`);
  kubectl(['delete', 'pod', '-n', 'default', '-l', 'app=kprc-check', '--grace-period=0', '--force', '--wait=false']);
}
