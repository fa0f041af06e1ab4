// The per-packet path's view (bpf/include/kpr_pod_path.h): every frontend
// the node's own traffic may use, as the node's pods reach it when no socket
// hook translated their packets (bypassed pods, VMs, sandboxes). Each has
// the backends the socket LB would choose from: ClusterIPs the internal set,
// the others the set for traffic from the node. The edge LB serves them in
// edge services of their own, beside the same addresses as clients outside
// reach them.
import { ExternalFrontend, Frontend, isExternal } from './frontend';
import { ipFamily } from './ip_address';
import { ModelConfig } from './node';

const made = new WeakMap<Frontend, { config: ModelConfig; pod: ExternalFrontend }>();

/** f as pods reach it. The same object while f and config are: an edge plan
 *  then knows its service unchanged without a look. */
export function podFrontend(f: Frontend, config: ModelConfig): ExternalFrontend {
  const last = made.get(f);
  if (last?.config === config) return last.pod;
  const pod: ExternalFrontend = {
    kind: f.kind,
    addr: f.addr,
    port: f.port,
    proto: f.proto,
    serviceName: f.serviceName,
    portName: f.portName,
    affinityTimeout: f.affinityTimeout,
    backends: f.backends,
    externalBackends: f.backends,
    // Source ranges are for clients outside; the socket LB's view already
    // leaves out a frontend whose ranges shut this node out.
    sourceRanges: [],
    // The path rewrites the destination alone, whatever the mode.
    forwardingMode: 'snat',
    lbAlgorithm: isExternal(f) ? f.lbAlgorithm : config.lbAlgorithm,
    // kpr_pod_path.h drops what has no backend (no reject at tc yet).
    dropWithoutBackends: true,
    edgeService: `${f.serviceName}|${f.portName}|${ipFamily(f.addr)}|pod${f.kind === 'ClusterIP' ? '|cluster' : ''}`,
    scope: 'pod',
  };
  made.set(f, { config, pod });
  return pod;
}
