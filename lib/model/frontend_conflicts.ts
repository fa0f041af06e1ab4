// Two services cannot serve the same address, port and protocol. The API
// server's IP allocator prevents it in a cluster, but hand-written manifests
// can collide: the service whose "namespace/name" sorts first keeps the
// frontend, so the outcome never depends on file or arrival order. A pod's
// hostPort may take a Service's address and port: the Service keeps it
// (host_ports.ts).
// One service may also name an address twice (an external IP that is also
// its load balancer IP, a node address among its external IPs); the API
// allows that, so its first frontend for the key serves it without a word.
import { Frontend, formatFrontend, frontendKey } from './frontend';

/** What a frontend belongs to: a Service, or a Pod's hostPort. */
const ownerOf = (f: Frontend) => `${f.kind === 'HostPort' ? 'Pod' : 'Service'} ${f.serviceName}`;

export interface ResolvedFrontends {
  frontends: Frontend[];
  /** One message per frontend that lost, naming both services. */
  conflicts: string[];
}

/** frontends must be ordered by serviceName, each service's in the order
 *  its frontends take precedence. */
export function resolveConflicts(frontends: Frontend[]): ResolvedFrontends {
  const owner = new Map<string, Frontend>();
  const conflicts: string[] = [];
  for (const f of frontends) {
    const key = frontendKey(f);
    const first = owner.get(key);
    if (!first) owner.set(key, f);
    else if (ownerOf(first) !== ownerOf(f))
      conflicts.push(`${ownerOf(f)}: port ${JSON.stringify(f.portName)}: frontend ${formatFrontend(f)} is already served by ${ownerOf(first)}; skipped`);
  }
  return { frontends: [...owner.values()], conflicts };
}
