// The workload the day-two operations run under (tests/cluster/day2.ts): an
// echo Deployment spread over both nodes behind one LoadBalancer Service
// (ClusterIP, NodePort and LoadBalancer IP at once, TCP and UDP), and a client
// pod on each node. The backends are the test echo server
// (tests/helpers/echo_server.ts, which names itself in every answer) run by
// kpr's own image, whose node runs it from this checkout's dist/ (a hostPath).
// They end as a well-behaved application does: a preStop pause keeps them
// serving while every proxy learns they are terminating, then SIGTERM.
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../e2e/cluster';
import { sleep } from '../helpers/sleep';
import { Kubectl } from './kubectl';

export const NAMESPACE = 'kpr-day2';
export const SERVICE = 'echo';
export const TCP_PORT = 80;
export const UDP_PORT = 81;
export const REPLICAS = 4;
/** Long enough for every node's proxy to drop a terminating endpoint before its pod stops answering. */
const PRESTOP_SECONDS = 5;
const READY_TIMEOUT_MS = 120_000;

/** The image charts/kpr runs by default: kpr:<appVersion>, which make images imports on every node. */
export function kprImage(): string {
  const chart = fs.readFileSync(path.join(REPO_ROOT, 'charts', 'kpr', 'Chart.yaml'), 'utf8');
  const version = /^appVersion:\s*"?([^"\s]+)"?\s*$/m.exec(chart)?.[1];
  if (!version) throw new Error('charts/kpr/Chart.yaml: no appVersion');
  return `kpr:${version}`;
}

const helpersMount = { name: 'helpers', hostPath: { path: path.join(REPO_ROOT, 'dist', 'tests', 'helpers'), type: 'Directory' } };

function echoDeployment(): object {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: SERVICE, namespace: NAMESPACE },
    spec: {
      replicas: REPLICAS,
      selector: { matchLabels: { app: SERVICE } },
      strategy: { rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: SERVICE } },
        spec: {
          terminationGracePeriodSeconds: PRESTOP_SECONDS + 10,
          // A cordoned node is no domain (Honor): a drain moves its replicas to the other.
          topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'DoNotSchedule', nodeTaintsPolicy: 'Honor', labelSelector: { matchLabels: { app: SERVICE } } }],
          volumes: [helpersMount],
          containers: [
            {
              name: 'echo',
              image: kprImage(),
              command: ['node', '/helpers/echo_server.js', '--name', '$(POD_NAME)', '--tcp', '8080', '--udp', '8081', '--max-seconds', '7200'],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              volumeMounts: [{ name: 'helpers', mountPath: '/helpers', readOnly: true }],
              readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
              lifecycle: { preStop: { sleep: { seconds: PRESTOP_SECONDS } } },
            },
          ],
        },
      },
    },
  };
}

function service(): object {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SERVICE, namespace: NAMESPACE },
    spec: {
      type: 'LoadBalancer',
      selector: { app: SERVICE },
      ports: [
        { name: 'tcp', port: TCP_PORT, targetPort: 8080, protocol: 'TCP' },
        { name: 'udp', port: UDP_PORT, targetPort: 8081, protocol: 'UDP' },
      ],
    },
  };
}

export function clientPodName(node: string): string {
  return `client-${node}`;
}

/** A sandbox the load's pod clients join (client_places.ts podPlace). */
function clientPod(node: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: clientPodName(node), namespace: NAMESPACE },
    spec: { nodeName: node, terminationGracePeriodSeconds: 0, containers: [{ name: 'sandbox', image: kprImage(), command: ['sleep', 'infinity'] }] },
  };
}

export interface Addresses {
  clusterIp: string;
  tcpNodePort: number;
  udpNodePort: number;
  lbIp: string;
}

export async function workloadUp(kubectl: Kubectl, nodes: string[]): Promise<Addresses> {
  const items = [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } }, echoDeployment(), service(), ...nodes.map(clientPod)];
  kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  await waitWorkload(kubectl);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const svc = JSON.parse(kubectl(['get', 'service', '-n', NAMESPACE, SERVICE, '-o', 'json'])) as {
      spec: { clusterIP: string; ports: { protocol: string; nodePort: number }[] };
      status: { loadBalancer?: { ingress?: { ip: string }[] } };
    };
    const lbIp = svc.status.loadBalancer?.ingress?.[0]?.ip;
    const nodePort = (proto: string) => svc.spec.ports.find((p) => p.protocol === proto)!.nodePort;
    if (lbIp) return { clusterIp: svc.spec.clusterIP, tcpNodePort: nodePort('TCP'), udpNodePort: nodePort('UDP'), lbIp };
    if (Date.now() > deadline) throw new Error(`service ${NAMESPACE}/${SERVICE} has no LoadBalancer IP after ${READY_TIMEOUT_MS / 1000} s`);
    await sleep(1000);
  }
}

/** Until every replica of the deployment and every other pod of the namespace is Ready
 *  (each kubectl call within kubectl.ts's 60 s); by default the echo replicas and client pods. */
export async function waitWorkload(kubectl: Kubectl, namespace = NAMESPACE, deployment = SERVICE): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      kubectl(['rollout', 'status', '-n', namespace, `deployment/${deployment}`, '--timeout=45s']);
      kubectl(['wait', '-n', namespace, '--for=condition=Ready', 'pod', '--all', '--timeout=45s']);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
  }
}

/** The echo pods by node, for telling which held flows their own backend's end closed. */
export function echoPodsByNode(kubectl: Kubectl): Map<string, string> {
  const pods = JSON.parse(kubectl(['get', 'pods', '-n', NAMESPACE, '-l', `app=${SERVICE}`, '-o', 'json'])) as { items: { metadata: { name: string }; spec: { nodeName: string } }[] };
  return new Map(pods.items.map((p) => [p.metadata.name, p.spec.nodeName]));
}

export function workloadDown(kubectl: Kubectl): void {
  kubectl(['delete', 'namespace', NAMESPACE, '--ignore-not-found', '--wait=true', '--timeout=120s']);
}
