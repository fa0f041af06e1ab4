// The step both the chart's and the API server address's tests end with: a
// Service and its EndpointSlice written through the real API server, seen
// in the agent's maps (kpr services) within APPLY_TIMEOUT_MS.
import * as path from 'path';
import { run } from '../helpers/run';
import { sleep } from '../helpers/sleep';
import { REPO_ROOT } from './cluster';
import { KubeObjects } from './kube_objects';

const KPR = path.join(REPO_ROOT, 'bin', 'kpr');
const APPLY_TIMEOUT_MS = 10_000;
const POLL_MS = 200;
const BACKEND = '198.18.0.11';

/** Creates Service web in a new namespace ns with one endpoint on node;
 *  resolves to the listing of `kpr services` once it shows the ClusterIP (or the last one, at the deadline). */
export async function serviceProgrammed(kube: KubeObjects, ns: string, node: string, bpfRoot: string): Promise<{ listing: string; want: string[] }> {
  await kube.namespace(ns);
  const svc = await kube.createService(ns, 'web', { ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] });
  await kube.slice(ns, 'web', [{ name: 'http', port: 8080 }], [{ addr: BACKEND, nodeName: node }]);
  const frontend = `${svc.spec?.clusterIP}:80/TCP`;
  const deadline = Date.now() + APPLY_TIMEOUT_MS;
  let listing = '';
  while (!listing.includes(frontend) && Date.now() < deadline) {
    listing = run(KPR, ['services', '--bpf-root', bpfRoot]);
    if (!listing.includes(frontend)) await sleep(POLL_MS);
  }
  return { listing, want: [frontend, `${BACKEND}:8080`] };
}
