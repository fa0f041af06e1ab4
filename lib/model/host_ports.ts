// hostPort: a container port a pod publishes on the node
// (containers[].ports[].hostPort), served as Cilium serves it, without the
// CNI's portmap plugin: a frontend on each address of the node (or on the
// hostIP the port names) whose one backend is the pod's address and
// container port, for clients outside (the edge LB), the node itself (the
// socket LB) and the node's pods. A pod on the node's network
// (hostNetwork) binds the port itself and needs nothing.
// Contested keys: a Service keeps its frontend (its frontends come first),
// and among pods the oldest keeps the port (creationTimestamp, then name),
// the others are reported, as two Services' would be (frontend_conflicts.ts).
import { ExternalFrontend } from './frontend';
import { IP_FAMILIES, ipFamily } from './ip_address';
import { ModelConfig, NodeContext } from './node';
import { nodePortAddresses } from './nodeport_addresses';
import { HostPort, objectName, Pod } from './objects';
import { compareStrings } from './order';
import { protocolOf } from './protocol';

const UNSPECIFIED = new Set(['0.0.0.0', '::']);
const ENDED = new Set(['Succeeded', 'Failed']);

export interface PodHostPorts {
  frontends: ExternalFrontend[];
  warnings: string[];
}

/** This node's running pods with hostPorts, oldest first. */
function publishing(pods: Iterable<Pod>, node: NodeContext): Pod[] {
  const out = [...pods].filter((p) => p.spec?.nodeName === node.name && !p.spec.hostNetwork && p.spec.hostPorts && !ENDED.has(p.status?.phase ?? '') && (p.status?.podIPs?.length ?? 0) > 0);
  return out.sort((a, b) => compareStrings(a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? '') || compareStrings(objectName(a.metadata), objectName(b.metadata)));
}

function frontendsOf(pod: Pod, hp: HostPort, podIp: string, addrs: string[], config: ModelConfig): ExternalFrontend[] {
  const name = objectName(pod.metadata);
  const proto = protocolOf(hp.protocol);
  const backend = [{ addr: podIp, port: hp.containerPort }];
  return addrs.map((addr) => ({
    kind: 'HostPort',
    addr,
    port: hp.hostPort,
    proto,
    serviceName: name,
    // What tells one hostPort of the pod from another (views and messages).
    portName: `${hp.hostPort}/${proto}`,
    affinityTimeout: 0,
    backends: backend,
    externalBackends: backend,
    sourceRanges: [],
    // The backend is on this node: the edge LB hands it to the stack, whatever the mode.
    forwardingMode: config.lbMode === 'dsr' ? 'dsr' : 'snat',
    lbAlgorithm: config.lbAlgorithm,
    dropWithoutBackends: false,
    edgeService: `${name}|hostport ${hp.hostPort}/${proto}|${ipFamily(podIp)}`,
  }));
}

/** Each hostPort of this node's pods as frontends, oldest pods first. */
export function hostPortFrontends(pods: Iterable<Pod>, node: NodeContext, config: ModelConfig): PodHostPorts {
  const frontends: ExternalFrontend[] = [];
  const warnings: string[] = [];
  for (const pod of publishing(pods, node)) {
    for (const hp of pod.spec?.hostPorts ?? []) {
      for (const family of IP_FAMILIES) {
        const podIp = pod.status?.podIPs?.find((p) => ipFamily(p.ip) === family)?.ip;
        if (!podIp) continue;
        const served = nodePortAddresses(node, { nodePortAddresses: [] }, family);
        const named = hp.hostIP !== undefined && !UNSPECIFIED.has(hp.hostIP);
        if (named && ipFamily(hp.hostIP as string) !== family) continue;
        if (named && !served.includes(hp.hostIP as string)) {
          warnings.push(`Pod ${objectName(pod.metadata)}: hostIP ${hp.hostIP} is not an address of this node: hostPort ${hp.hostPort} is not served`);
          continue;
        }
        frontends.push(...frontendsOf(pod, hp, podIp, named ? [hp.hostIP as string] : served, config));
      }
    }
  }
  return { frontends, warnings };
}
