// A real Kubernetes control plane on loopback for the e2e tests and benchmarks:
// etcd and kube-apiserver at the versions pinned in kube-versions.env, built
// by `make kube-bin` into ${KPR_CACHE:-~/.cache/kpr}/kube/<version>/bin.
//
// There is no controller-manager, scheduler or kubelet: tests create Nodes and
// EndpointSlices themselves, so that they control endpoints exactly. The
// apiserver itself allocates ClusterIPs, from SERVICE_CIDRS only (the test
// ranges 198.18.0.0/15 and fd00:198:18::/48). Clients authenticate with an
// admin certificate (O=system:masters); authorization is RBAC, as in a real
// cluster, so that the chart's roles can be tested against it.
//
// Cleanup on exit: each LineProcess kills its child and createTestDir removes
// the directory; under jest, whose sandbox sees no exit, scripts/run-tests.js
// sweeps both (leftovers.ts: processes by the directory named in their flags).
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { LineProcess } from '../helpers/line_process';
import { sleep } from '../helpers/sleep';
import { createTestDir } from '../helpers/test_dir';
import { issue, makeCa, serviceAccountKeys, writeKubeconfig } from './kube_pki';

/** dist/tests/e2e -> the checkout. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const VERSIONS_FILE = path.join(REPO_ROOT, 'tests', 'e2e', 'kube-versions.env');

/** Primary IPv4, then IPv6: a dual-stack Service gets one ClusterIP of each. */
export const SERVICE_CIDRS = ['198.19.0.0/16', 'fd00:198:18:1::/108'];

export type KubeBinary = 'kube-apiserver' | 'etcd' | 'kube-proxy';

export interface Cluster {
  /** Admin kubeconfig (client certificate CN=admin, O=system:masters). */
  kubeconfig: string;
  /** The apiserver's URL, https://127.0.0.1:<port>. */
  server: string;
  /** etcd's client URL (plain http on loopback). */
  etcdServer: string;
  /** The scratch directory: certificates, keys, etcd's data. */
  dir: string;
  /** CA of the apiserver's serving certificate and of client certificates. */
  caFile: string;
  /** The admin's client certificate and key (PEM files), as in the kubeconfig. */
  clientCertFile: string;
  clientKeyFile: string;
  /** The apiserver's log lines so far (of the current run, after a restart). */
  apiServerLog(): string;
  /** Stops kube-apiserver (SIGTERM, then SIGKILL); etcd and the ports stay. Idempotent. */
  stopApiServer(): Promise<void>;
  /** Starts kube-apiserver again, same port and etcd, and waits for /readyz. No-op while it runs. */
  startApiServer(): Promise<void>;
  /** Kills both and removes the directory; idempotent. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Short name of the test, part of the directory name (naming.ts). */
  prefix: string;
  /** Bound on each of etcd's and kube-apiserver's start (default 90 s). */
  readyTimeoutMs?: number;
  /** Further kube-apiserver flags, e.g. ['--feature-gates=...']. */
  apiServerArgs?: string[];
}

const DEFAULT_READY_TIMEOUT_MS = 90_000;
const POLL_MS = 200;
const PROBE_TIMEOUT_MS = 2_000;
const STOP_GRACE_MS = 10_000;
const CERT_DAYS = '7';

/** The KEY=VALUE lines of a versions file such as kube-versions.env. */
export function readVersionsFile(file: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\s*([A-Z_][A-Z0-9_]*)=(\S*)\s*$/.exec(line);
    if (m) vars[m[1]] = m[2];
  }
  return vars;
}

/** KUBE_VERSION, ETCD_VERSION, ... from kube-versions.env. */
export function kubeVersions(): Record<string, string> {
  const vars = readVersionsFile(VERSIONS_FILE);
  if (!vars.KUBE_VERSION) throw new Error(`${VERSIONS_FILE}: no KUBE_VERSION`);
  return vars;
}

/** ${KPR_CACHE:-~/.cache/kpr}, where make kube-bin and make chart-tools build. */
export function kprCacheDir(): string {
  return process.env.KPR_CACHE || path.join(os.homedir(), '.cache', 'kpr');
}

/** Where `make kube-bin` puts the binaries (same rule as scripts/build-kube.sh). */
export function kubeBinDir(): string {
  return path.join(kprCacheDir(), 'kube', kubeVersions().KUBE_VERSION, 'bin');
}

/** Path of a built binary; throws saying to run `make kube-bin` when it is missing. */
export function kubeBinary(name: KubeBinary): string {
  const file = path.join(kubeBinDir(), name);
  try {
    fs.accessSync(file, fs.constants.X_OK);
  } catch {
    const v = kubeVersions();
    throw new Error(
      `${file} is missing: run \`make kube-bin\` (builds Kubernetes ${v.KUBE_VERSION} and etcd ${v.ETCD_VERSION}, ` +
        `pinned in tests/e2e/kube-versions.env; a few minutes, once per machine)`,
    );
  }
  return file;
}

/** Distinct ports that were free a moment ago on 127.0.0.1 (all held open at once, so distinct). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<net.Server>((resolve, reject) => {
        const srv = net.createServer();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => resolve(srv));
      }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

interface Pki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

/** A CA, the apiserver's serving certificate, the admin's client certificate, the service-account key pair. */
function makePki(dir: string): Pki {
  const ca = makeCa(dir, 'kpr-e2e-ca', CERT_DAYS);
  const server = issue(ca, dir, 'apiserver', {
    subject: '/CN=kube-apiserver',
    usage: 'serverAuth',
    sans: ['IP:127.0.0.1', 'DNS:localhost', 'IP:198.19.0.1', 'DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc'],
    days: CERT_DAYS,
  });
  const admin = issue(ca, dir, 'admin', { subject: '/O=system:masters/CN=admin', usage: 'clientAuth', days: CERT_DAYS });
  const sa = serviceAccountKeys(dir);
  return {
    caCert: ca.cert,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    saKey: sa.key,
    saPub: sa.pub,
  };
}

export interface Probe {
  ok: boolean;
  detail: string;
}

export function httpGet(url: string, tls?: https.RequestOptions): Promise<Probe> {
  return new Promise((resolve) => {
    const onResponse = (res: http.IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ ok: res.statusCode === 200, detail: `HTTP ${res.statusCode}: ${body.trim()}` }));
    };
    const req = tls
      ? https.get(url, { ...tls, timeout: PROBE_TIMEOUT_MS }, onResponse)
      : http.get(url, { timeout: PROBE_TIMEOUT_MS }, onResponse);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ ok: false, detail: err.message }));
  });
}

/** Polls until probe() is ok; fails early when proc exits, and with its log tail on timeout. */
async function waitReady(proc: LineProcess, what: string, probe: () => Promise<Probe>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitStatus: string | undefined;
  void proc.exited.then((s) => (exitStatus = String(s.code ?? s.signal)));
  let last: Probe = { ok: false, detail: 'not probed yet' };
  for (;;) {
    if (exitStatus !== undefined) {
      throw new Error(`${proc.label}: exited (${exitStatus}) before ${what}\n--- log tail ---\n${proc.logTail()}`);
    }
    last = await probe();
    if (last.ok) return;
    if (Date.now() >= deadline) {
      throw new Error(`${proc.label}: no ${what} after ${timeoutMs} ms (last: ${last.detail})\n--- log tail ---\n${proc.logTail()}`);
    }
    await sleep(POLL_MS);
  }
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  const etcdBin = kubeBinary('etcd');
  const apiServerBin = kubeBinary('kube-apiserver');
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  const testDir = createTestDir(opts.prefix);
  const dir = testDir.path;
  let etcd: LineProcess | undefined;
  let apiServer: LineProcess | undefined;
  let apiServerRunning = false;
  let stopped = false;

  async function stop(): Promise<void> {
    if (stopped) return;
    stopped = true;
    await apiServer?.stop('SIGTERM', STOP_GRACE_MS);
    await etcd?.stop('SIGTERM', STOP_GRACE_MS);
    testDir.destroy();
  }

  try {
    const pki = makePki(dir);
    const [etcdClientPort, etcdPeerPort, apiPort] = await freePorts(3);
    const etcdServer = `http://127.0.0.1:${etcdClientPort}`;
    const etcdPeer = `http://127.0.0.1:${etcdPeerPort}`;
    const server = `https://127.0.0.1:${apiPort}`;

    etcd = new LineProcess('etcd', etcdBin, [
      '--name=kpr-e2e',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdServer}`,
      `--advertise-client-urls=${etcdServer}`,
      `--listen-peer-urls=${etcdPeer}`,
      `--initial-advertise-peer-urls=${etcdPeer}`,
      `--initial-cluster=kpr-e2e=${etcdPeer}`,
      '--initial-cluster-state=new',
      // A test cluster's data need not survive a machine crash.
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await waitReady(etcd, 'healthy /health', async () => {
      const p = await httpGet(`${etcdServer}/health`);
      return { ok: p.ok && p.detail.includes('"health":"true"'), detail: p.detail };
    }, readyTimeoutMs);

    const apiServerArgs = [
      `--etcd-servers=${etcdServer}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-cluster-ip-range=${SERVICE_CIDRS.join(',')}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--authorization-mode=RBAC',
      // The reconciler would publish the apiserver's own address as the endpoint of
      // default/kubernetes, and it refuses loopback: that service has no endpoints.
      '--endpoint-reconciler-type=none',
      // Its admission would wait for service-account tokens that no controller makes.
      '--disable-admission-plugins=ServiceAccount',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      ...(opts.apiServerArgs ?? []),
    ];
    const tls: https.RequestOptions = {
      ca: fs.readFileSync(pki.caCert),
      cert: fs.readFileSync(pki.adminCert),
      key: fs.readFileSync(pki.adminKey),
      agent: false,
    };

    async function startApiServer(): Promise<void> {
      if (stopped) throw new Error('startApiServer: the cluster was stopped');
      if (apiServerRunning) return;
      const proc = new LineProcess('kube-apiserver', apiServerBin, apiServerArgs);
      apiServer = proc;
      apiServerRunning = true;
      void proc.exited.then(() => {
        if (apiServer === proc) apiServerRunning = false;
      });
      await waitReady(proc, '/readyz', () => httpGet(`${server}/readyz`, tls), readyTimeoutMs).catch(async (e: Error) => {
        const verbose = await httpGet(`${server}/readyz?verbose`, tls);
        await proc.stop('SIGKILL');
        e.message += `\n--- /readyz?verbose ---\n${verbose.detail}`;
        throw e;
      });
    }

    await startApiServer();
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeKubeconfig(kubeconfig, 'kpr-e2e', server, pki.caCert, { cert: pki.adminCert, key: pki.adminKey });
    return {
      kubeconfig,
      server,
      etcdServer,
      dir,
      caFile: pki.caCert,
      clientCertFile: pki.adminCert,
      clientKeyFile: pki.adminKey,
      apiServerLog: () => apiServer?.lines.join('\n') ?? '',
      async stopApiServer() {
        await apiServer?.stop('SIGTERM', STOP_GRACE_MS);
        apiServerRunning = false;
      },
      startApiServer,
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}
