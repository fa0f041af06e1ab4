// The socket-LB bypass and the per-packet path on make cluster, with kpr
// installed by its chart (issue 15): `node dist/tests/cluster/socket_bypass.js
// [--rates] [--summary FILE]` brings the cluster up if need be and leaves it
// up; make test runs it after upstream's tests (scripts/run-tests.js), each
// check counting as a test.
//
// - A pod in a namespace annotated kpr.io/socket-lb: disabled, whose outbound
//   TCP an init container REDIRECTs with iptables in the pod's own namespace
//   to a sidecar that reads SO_ORIGINAL_DST (the mesh-sidecar image,
//   tests/helpers/orig_dst_proxy.py): the sidecar must see the ClusterIP,
//   and the requests it forwards must be answered. The same pod in a plain
//   namespace: its sidecar sees the backends (the socket LB translated first).
// - A bypassed pod without a redirect reaches the service over TCP and UDP;
//   the backend (agnhost netexec's clientip, HTTP and UDP) sees the pod's own
//   address, and the UDP answers come from the ClusterIP.
// - With --rates, in one run: requests a second (a connection each) to the
//   ClusterIP from a plain pod (socket LB), from a bypassed pod (per-packet
//   path), and to the backends' pod addresses directly, written as a
//   benchmark result (benchmarks/results/pod-paths.json).
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../e2e/cluster';
import { newResult, writeResult } from '../bench/bench_result';
import { sleep } from '../helpers/sleep';
import { kubectlFor } from './kubectl';
import { say } from './log';
import { NODES } from './layout';
import { clusterPki } from './pki';
import { proxyByName, waitProxyReady } from './proxies';
import { clusterUp } from './up';

const SIDECAR_IMAGE = 'localhost/kpr-tests/mesh-sidecar:1';
const AGNHOST_IMAGE = 'registry.k8s.io/e2e-test-images/agnhost:2.66.1';
const MESH = 'kpr-mesh';
const PLAIN = 'kpr-plain';
const PROXY_PORT = 15001;
const PROXY_MARK = 1337;
const REQUESTS = 200;
const RATE_SECONDS = Number(process.env.KPR_RATE_SECONDS ?? 10);

const kubectl = kubectlFor(clusterPki());
const apply = (objects: object[]) => kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));

function namespace(name: string, annotations: Record<string, string> = {}): object {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations } };
}

/** A client pod on node: an app container (python3), and with capture, the
 *  mesh: iptables REDIRECT of its outbound TCP (init) and the sidecar. */
function client(name: string, ns: string, node: string, capture: boolean): object {
  const netAdmin = { capabilities: { add: ['NET_ADMIN'] } };
  const redirect = ['iptables', 'ip6tables'].map((t) => `${t} -t nat -A OUTPUT -p tcp -m mark ! --mark ${PROXY_MARK} -j REDIRECT --to-ports ${PROXY_PORT}`).join(' && ');
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 0,
      ...(capture ? { initContainers: [{ name: 'capture', image: SIDECAR_IMAGE, command: ['sh', '-c', redirect], securityContext: netAdmin }] } : {}),
      containers: [
        { name: 'app', image: SIDECAR_IMAGE, command: ['sleep', 'infinity'] },
        ...(capture ? [{ name: 'sidecar', image: SIDECAR_IMAGE, args: [String(PROXY_PORT), String(PROXY_MARK)], securityContext: netAdmin }] : []),
      ],
    },
  };
}

function backends(): object[] {
  const pods = NODES.map((n, i) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `echo-${i + 1}`, namespace: PLAIN, labels: { app: 'echo' } },
    spec: { nodeName: n.name, terminationGracePeriodSeconds: 0, containers: [{ name: 'netexec', image: AGNHOST_IMAGE, args: ['netexec', '--http-port=8080', '--udp-port=8081'] }] },
  }));
  const svc = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'echo', namespace: PLAIN },
    spec: {
      selector: { app: 'echo' },
      ipFamilyPolicy: 'RequireDualStack',
      ports: [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'udp', port: 81, targetPort: 8081, protocol: 'UDP' },
      ],
    },
  };
  return [...pods, svc];
}

/** Runs python3 code in a pod's app container; its standard output. */
const python = (pod: string, ns: string, code: string) => kubectl(['exec', '-n', ns, pod, '-c', 'app', '--', 'python3', '-c', code]);

/** count HTTP/1.0 requests to addr:port for path, a connection each: each answer's body. */
function httpBodies(pod: string, ns: string, addr: string, port: number, route: string, count: number): string[] {
  const code = `
import socket
fam = socket.AF_INET6 if ':' in ${JSON.stringify(addr)} else socket.AF_INET
for i in range(${count}):
    s = socket.create_connection((${JSON.stringify(addr)}, ${port}), timeout=5)
    s.sendall(b'GET ${route} HTTP/1.0\\r\\n\\r\\n')
    data = b''
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    print(data.split(b'\\r\\n\\r\\n', 1)[1].decode().strip())
`;
  return python(pod, ns, code).trim().split('\n');
}

/** count UDP exchanges with netexec (a socket each), asking for the
 *  client's address: "address it saw|answer's source address|source port". */
function udpAnswers(pod: string, ns: string, addr: string, port: number, count: number): string[] {
  const code = `
import socket
fam = socket.AF_INET6 if ':' in ${JSON.stringify(addr)} else socket.AF_INET
for i in range(${count}):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b'clientip', (${JSON.stringify(addr)}, ${port}))
    data, peer = s.recvfrom(4096)
    s.close()
    seen = data.decode().strip().rsplit(':', 1)[0].strip('[]')
    print('%s|%s|%d' % (seen, peer[0], peer[1]))
`;
  return python(pod, ns, code).trim().split('\n');
}

/** Requests a second to targets (round robin), a connection each, for RATE_SECONDS. */
function requestRate(pod: string, ns: string, targets: string[], port: number): number {
  const code = `
import socket, time
targets = ${JSON.stringify(targets)}
n = 0
end = time.monotonic() + ${RATE_SECONDS}
start = time.monotonic()
while time.monotonic() < end:
    addr = targets[n % len(targets)]
    s = socket.create_connection((addr, ${port}), timeout=5)
    s.sendall(b'GET /echo?msg=kpr HTTP/1.0\\r\\n\\r\\n')
    while s.recv(4096):
        pass
    s.close()
    n += 1
print(n / (time.monotonic() - start))
`;
  return Math.round(Number(python(pod, ns, code).trim()));
}

const count = (items: string[]) => items.reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});
const sidecarSaw = (pod: string, ns: string) =>
  kubectl(['logs', '-n', ns, pod, '-c', 'sidecar'])
    .split('\n')
    .filter((l) => l.startsWith('orig ') || l.startsWith('error '));

async function waitPodsReady(ns: string): Promise<void> {
  kubectl(['wait', '-n', ns, '--for=condition=Ready', 'pod', '--all', '--timeout=180s']);
  await sleep(0);
}

function check(what: string, ok: boolean, detail: unknown): boolean {
  say(`${ok ? 'ok' : 'FAILED'}: ${what}${ok ? '' : `: ${JSON.stringify(detail)}`}`);
  return ok;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const summary = args.includes('--summary') ? args[args.indexOf('--summary') + 1] : undefined;
  const kubeconfig = await clusterUp();
  const proxy = proxyByName('kpr', kubeconfig, kubectl);
  proxy.install();
  await waitProxyReady(kubectl);
  apply([namespace(MESH, { 'kpr.io/socket-lb': 'disabled' }), namespace(PLAIN)]);
  apply([
    ...backends(),
    client('mesh', MESH, NODES[0].name, true),
    client('mesh', PLAIN, NODES[0].name, true),
    client('direct', MESH, NODES[1].name, false),
    client('direct', PLAIN, NODES[1].name, false),
  ]);
  await waitPodsReady(PLAIN);
  await waitPodsReady(MESH);
  const svc = JSON.parse(kubectl(['get', 'service', '-n', PLAIN, 'echo', '-o', 'json'])) as { spec: { clusterIPs: string[] } };
  const podIps = (ns: string, name: string) => (JSON.parse(kubectl(['get', 'pod', '-n', ns, name, '-o', 'json'])) as { status: { podIPs: { ip: string }[] } }).status.podIPs.map((p) => p.ip);
  const backendIps = [podIps(PLAIN, 'echo-1'), podIps(PLAIN, 'echo-2')];
  // The agents learn of the pods and their namespaces from the API: give them a moment.
  await sleep(3000);
  const results: boolean[] = [];
  if (args.includes('--rates')) measureRates(svc, backendIps);
  for (const cip of svc.spec.clusterIPs) {
    const v6 = cip.includes(':');
    const family = v6 ? 'IPv6' : 'IPv4';
    const fam = v6 ? 1 : 0;
    const before = { mesh: sidecarSaw('mesh', MESH).length, plain: sidecarSaw('mesh', PLAIN).length };
    const viaMesh = httpBodies('mesh', MESH, cip, 80, '/hostname', REQUESTS);
    const meshSaw = count(sidecarSaw('mesh', MESH).slice(before.mesh));
    results.push(check(`${family}: the bypassed pod's sidecar sees the ClusterIP for all ${REQUESTS} connections`, JSON.stringify(meshSaw) === JSON.stringify({ [`orig ${cip} 80`]: REQUESTS }), meshSaw));
    results.push(check(`${family}: ... and they are answered by both backends`, new Set(viaMesh).size === 2 && viaMesh.length === REQUESTS, count(viaMesh)));
    httpBodies('mesh', PLAIN, cip, 80, '/hostname', REQUESTS);
    const plainSaw = Object.keys(count(sidecarSaw('mesh', PLAIN).slice(before.plain))).sort();
    const want = backendIps.map((ips) => `orig ${ips[fam]} 8080`).sort();
    results.push(check(`${family}: a plain pod's sidecar sees the backends`, JSON.stringify(plainSaw) === JSON.stringify(want), plainSaw));
    const direct = podIps(MESH, 'direct')[fam];
    const seen = count(httpBodies('direct', MESH, cip, 80, '/clientip', REQUESTS).map((b) => b.slice(0, b.lastIndexOf(':')).replace(/^\[|\]$/g, '')));
    results.push(check(`${family}: a bypassed pod without a redirect reaches the service over TCP, seen as itself`, JSON.stringify(seen) === JSON.stringify({ [direct]: REQUESTS }), seen));
    const udp = count(udpAnswers('direct', MESH, cip, 81, REQUESTS));
    results.push(check(`${family}: ... and over UDP, seen as itself, every answer from the ClusterIP`, JSON.stringify(udp) === JSON.stringify({ [`${direct}|${cip}|81`]: REQUESTS }), udp));
  }
  kubectl(['delete', 'namespace', MESH, PLAIN, '--wait=false']);
  const failed = results.filter((r) => !r).length;
  say(`${results.length - failed} checks passed, ${failed} failed`);
  if (summary) fs.writeFileSync(summary, JSON.stringify({ passed: results.length - failed, failed }));
  if (failed > 0) process.exit(1);
}

/** Requests a second in one run, IPv4: the socket LB, the per-packet path, no service at all. */
function measureRates(svc: { spec: { clusterIPs: string[] } }, backendIps: string[][]): void {
  const cip4 = svc.spec.clusterIPs.find((a) => !a.includes(':')) as string;
  const rates = {
    socketLb: requestRate('direct', PLAIN, [cip4], 80),
    perPacket: requestRate('direct', MESH, [cip4], 80),
    podToPod: requestRate('direct', PLAIN, backendIps.map((ips) => ips[0]), 8080),
  };
  say(`requests/s, a connection each, ${RATE_SECONDS} s each: pod -> ClusterIP by the socket LB ${rates.socketLb}, by the per-packet path (bypassed pod) ${rates.perPacket}, pod -> pod direct ${rates.podToPod}`);
  const result = newResult('pod-paths', { seconds: RATE_SECONDS, client: 'python3 in a pod on kprc-node2', backends: 'agnhost netexec on both nodes' });
  const at = { scenario: 'pod-to-service', scale: 2, scaleUnit: 'backends', unit: 'requests/s', better: 'higher' as const };
  writeResult(path.join(REPO_ROOT, 'benchmarks', 'results', 'pod-paths.json'), {
    ...result,
    rows: [
      { ...at, peer: 'kpr' as const, metric: 'ClusterIP, socket LB', value: rates.socketLb },
      { ...at, peer: 'kpr' as const, metric: 'ClusterIP, per-packet path (bypassed pod)', value: rates.perPacket },
      { ...at, peer: 'direct' as const, metric: 'pod IP, no service', value: rates.podToPod },
    ],
  });
}

main().catch((e: Error) => {
  say(`failed: ${e.message}`);
  process.exit(1);
});
