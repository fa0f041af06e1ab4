// The cluster's LoadBalancer provider, as a cloud's would be for upstream's
// LoadBalancers tests (cloud-provider-kind plays this part for kind): every
// Service of type LoadBalancer gets an ingress IP from LB_POOL in its status,
// kept while it stays a LoadBalancer, with the cleanup finalizer that holds
// its deletion until the IP is released; and the host, where the tests run,
// routes each IP to the nodes that should receive it: every node, or for
// externalTrafficPolicy Local only those whose health check node port
// answers 200, as a cloud's load balancer probes them. Like a cloud's, it
// spreads connections over those nodes by their ports (the host hashes
// multipath routes by L4, host_net.ts), and keeps a client on one node when
// the Service asks for ClientIP affinity. The host reaches the IPs from
// OUTSIDE_CLIENT_IP, as a client beyond the nodes' network would. The proxy
// under test does the rest on the node. A host daemon of make cluster (like CoreDNS),
// reconciling once a second; it holds nothing the Services do not.
//
//   node dist/tests/cluster/lb_provider.js --state <state dir>
// (--state only names the state dir on its command line, by which make
// cluster knows its own daemons.)
import { execFileSync } from 'child_process';
import * as http from 'http';
import { sleep } from '../helpers/sleep';
import { kubectlFor } from './kubectl';
import { BRIDGE, LB_POOL, NODES, OUTSIDE_CLIENT_IP } from './layout';
import { clusterPki } from './pki';

const FINALIZER = 'service.kubernetes.io/load-balancer-cleanup';
const INTERVAL_MS = 1000;
const PROBE_TIMEOUT_MS = 500;

interface Service {
  metadata: { namespace: string; name: string; deletionTimestamp?: string; finalizers?: string[] };
  spec: {
    type?: string;
    loadBalancerClass?: string;
    externalTrafficPolicy?: string;
    healthCheckNodePort?: number;
    sessionAffinity?: string;
  };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

const kubectl = kubectlFor(clusterPki());

function services(): Service[] {
  return (JSON.parse(kubectl(['get', 'services', '--all-namespaces', '--output=json'])) as { items: Service[] }).items;
}

function patch(s: Service, body: object, subresource?: 'status'): void {
  const args = ['patch', 'service', s.metadata.name, `--namespace=${s.metadata.namespace}`, '--type=merge', `--patch=${JSON.stringify(body)}`];
  kubectl(subresource ? [...args, `--subresource=${subresource}`] : args);
}

const ingressIp = (s: Service) => s.status?.loadBalancer?.ingress?.[0]?.ip;
const ours = (s: Service) => s.spec.type === 'LoadBalancer' && !s.spec.loadBalancerClass && !s.metadata.deletionTimestamp;
const finalizers = (s: Service) => s.metadata.finalizers ?? [];

/** The pool's addresses, .1 to .254 of a /24. */
const POOL: string[] = (() => {
  const base = LB_POOL.split('/')[0].split('.').slice(0, 3).join('.');
  return Array.from({ length: 254 }, (_, i) => `${base}.${i + 1}`);
})();

function inPool(ip: string | undefined): ip is string {
  return ip !== undefined && POOL.includes(ip);
}

// Where the search for a free IP starts: after the last one given, as a
// cloud does not hand a released IP straight to the next Service (upstream
// checks that a released IP stops answering while other tests create theirs).
let nextIndex = 0;

function freeIp(used: Map<string, Service>): string | undefined {
  for (let i = 0; i < POOL.length; i++) {
    const at = (nextIndex + i) % POOL.length;
    if (!used.has(POOL[at])) {
      nextIndex = (at + 1) % POOL.length;
      return POOL[at];
    }
  }
  return undefined;
}

/** Status and finalizer of each Service; returns the IPs in use, each with its Service. */
function reconcileServices(all: Service[]): Map<string, Service> {
  const used = new Map<string, Service>();
  for (const s of all) if (ours(s) && inPool(ingressIp(s))) used.set(ingressIp(s)!, s);
  for (const s of all) {
    if (ours(s)) {
      if (!finalizers(s).includes(FINALIZER)) patch(s, { metadata: { finalizers: [...finalizers(s), FINALIZER] } });
      if (!inPool(ingressIp(s))) {
        const ip = freeIp(used);
        if (!ip) continue;
        patch(s, { status: { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } } }, 'status');
        used.set(ip, s);
      }
    } else if (finalizers(s).includes(FINALIZER)) {
      // Deleted, or no longer a LoadBalancer: the IP is released, then the Service goes.
      if (inPool(ingressIp(s)) && !s.metadata.deletionTimestamp) patch(s, { status: { loadBalancer: { ingress: null } } }, 'status');
      patch(s, { metadata: { finalizers: finalizers(s).filter((f) => f !== FINALIZER) } });
    }
  }
  return used;
}

function healthy(nodeIp: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: nodeIp, port, path: '/healthz', timeout: PROBE_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** The nodes a Service's LB IP goes to: all, or those its health check says
 *  have local endpoints (all when none do); with ClientIP affinity only the
 *  first of them, so that one node's proxy sees every connection of a client. */
async function targets(s: Service): Promise<string[]> {
  const all = NODES.map((n) => n.ip);
  const port = s.spec.healthCheckNodePort;
  let up = all;
  if (s.spec.externalTrafficPolicy === 'Local' && port) {
    const answering = (await Promise.all(all.map(async (ip) => ((await healthy(ip, port)) ? [ip] : [])))).flat();
    if (answering.length > 0) up = answering;
  }
  return s.spec.sessionAffinity === 'ClientIP' ? up.slice(0, 1) : up;
}

function routeArgs(ip: string, via: string[]): string[] {
  const next = via.length === 1 ? ['via', via[0], 'dev', BRIDGE] : via.flatMap((v) => ['nexthop', 'via', v, 'dev', BRIDGE]);
  return [`${ip}/32`, 'src', OUTSIDE_CLIENT_IP, ...next];
}

const routed = new Map<string, string>();

async function reconcileRoutes(used: Map<string, Service>): Promise<void> {
  for (const [ip, s] of used) {
    const args = routeArgs(ip, await targets(s));
    if (routed.get(ip) === args.join(' ')) continue;
    execFileSync('ip', ['route', 'replace', ...args]);
    routed.set(ip, args.join(' '));
  }
  for (const ip of [...routed.keys()].filter((a) => !used.has(a))) {
    execFileSync('ip', ['route', 'del', `${ip}/32`], { stdio: 'ignore' });
    routed.delete(ip);
  }
}

/** The IPs routed now: the pool's /32 routes (the pool's own route, unreachable, is host_net.ts's). */
function routedIps(): string[] {
  const routes = JSON.parse(execFileSync('ip', ['-json', 'route', 'show', 'root', LB_POOL], { encoding: 'utf8' })) as { dst: string }[];
  return routes.map((r) => r.dst).filter((dst) => !dst.includes('/'));
}

async function main(): Promise<void> {
  // Routes of a provider that ran before: this one decides them afresh.
  for (const ip of routedIps()) execFileSync('ip', ['route', 'del', `${ip}/32`]);
  for (;;) {
    try {
      await reconcileRoutes(reconcileServices(services()));
    } catch (e) {
      console.error(`${new Date().toISOString()} lb-provider: ${(e as Error).message}`);
    }
    await sleep(INTERVAL_MS);
  }
}

main();
