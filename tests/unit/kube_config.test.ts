import * as fs from 'fs';
import * as https from 'https';
import * as yaml from 'js-yaml';
import * as os from 'os';
import * as path from 'path';
import { inClusterConnection, inClusterServer, kubeconfigConnection, parseApiServer } from '../../lib/sources/kube_config';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(cluster: object, user: object, extra: object = {}): object {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'other', cluster: { server: 'https://198.18.0.9:6443' } }, { name: 'c', cluster }],
    users: [{ name: 'u', user }],
    contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
    'current-context': 'ctx',
    ...extra,
  };
}

describe('connection to the API server', () => {
  let dir: string;
  const write = (name: string, content: string | object) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof content === 'string' ? content : yaml.dump(content));
    return file;
  };
  const agentOptions = (o: https.RequestOptions) => (o.agent as https.Agent & { options: https.AgentOptions }).options;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-kubeconfig-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('a kubeconfig of inline certificates and a token', async () => {
    const file = write('config', kubeconfig({ server: 'https://198.18.0.1:6443/', 'certificate-authority-data': b64('CA') }, { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY'), token: 't0ken' }));
    const conn = await kubeconfigConnection(file);
    expect(conn.server.href).toBe('https://198.18.0.1:6443/');
    const o = await conn.requestOptions();
    expect(o.headers).toEqual({ Authorization: 'Bearer t0ken' });
    const a = agentOptions(o);
    expect([a.ca, a.cert, a.key].map(String)).toEqual(['CA', 'CERT', 'KEY']);
    expect(a.rejectUnauthorized).toBe(true);
    expect(a.keepAlive).toBe(true);
  });

  test('files are named relative to the kubeconfig, and a token file is read for each request', async () => {
    fs.mkdirSync(path.join(dir, 'pki'));
    write('pki/ca.crt', 'CA');
    write('pki/client.crt', 'CERT');
    write('pki/client.key', 'KEY');
    write('token', 'first\n');
    const cluster = { server: 'https://198.18.0.1:6443', 'certificate-authority': 'pki/ca.crt', 'insecure-skip-tls-verify': true, 'tls-server-name': 'api.test' };
    const file = write('config', kubeconfig(cluster, { 'client-certificate': 'pki/client.crt', 'client-key': path.join(dir, 'pki/client.key'), tokenFile: 'token' }));
    const conn = await kubeconfigConnection(file);
    const first = await conn.requestOptions();
    const a = agentOptions(first);
    expect([a.ca, a.cert, a.key].map(String)).toEqual(['CA', 'CERT', 'KEY']);
    expect(a.rejectUnauthorized).toBe(false);
    expect(a.servername).toBe('api.test');
    expect(first.headers).toEqual({ Authorization: 'Bearer first' });
    write('token', 'rotated');
    expect((await conn.requestOptions()).headers).toEqual({ Authorization: 'Bearer rotated' });
  });

  test.each([
    ['no current context', kubeconfig({ server: 'https://198.18.0.1' }, {}, { 'current-context': undefined }), 'no context named null in contexts'],
    ['a context naming no cluster', kubeconfig({ server: 'https://198.18.0.1' }, {}, { contexts: [{ name: 'ctx', context: { cluster: 'gone' } }] }), 'no cluster named "gone" in clusters'],
    ['a cluster without a server', kubeconfig({}, {}), 'cluster "c" has no server'],
    ['plain http', kubeconfig({ server: 'http://198.18.0.1:8080' }, {}), 'API server http://198.18.0.1:8080: kpr talks to API servers over https only'],
    ['a token that is no string', kubeconfig({ server: 'https://198.18.0.1' }, { token: 12 }), 'token must be a string'],
  ])('%s is an error', async (_what, config, message) => {
    const file = write('config', config);
    await expect(kubeconfigConnection(file)).rejects.toThrow(message);
  });

  // The first load of client-node under jest converts it to CommonJS file by
  // file (scripts/jest-esm-to-cjs.js): seconds on a cold cache.
  const CLIENT_NODE_LOAD_MS = 60_000;

  test('a credential plugin is left to client-node, whose token goes into each request', async () => {
    const credential = { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'from-plugin' } };
    const exec = { apiVersion: 'client.authentication.k8s.io/v1', command: '/bin/sh', args: ['-c', `echo '${JSON.stringify(credential)}'`], interactiveMode: 'Never' };
    const file = write('config', kubeconfig({ server: 'https://198.18.0.1:6443', 'certificate-authority-data': b64('CA') }, { exec }));
    const conn = await kubeconfigConnection(file);
    expect(conn.server.href).toBe('https://198.18.0.1:6443/');
    const o = await conn.requestOptions();
    expect((o.headers as Record<string, string>).Authorization).toBe('Bearer from-plugin');
  }, CLIENT_NODE_LOAD_MS);

  test("in a pod: the service's address from the environment, the service account's CA and token", async () => {
    write('ca.crt', 'CA');
    write('token', 'sa-token');
    const conn = inClusterConnection({ KUBERNETES_SERVICE_HOST: 'fd00:198:18::1', KUBERNETES_SERVICE_PORT: '443' }, dir);
    expect(conn.server.href).toBe('https://[fd00:198:18::1]/');
    const o = await conn.requestOptions();
    expect(String(agentOptions(o).ca)).toBe('CA');
    expect(o.headers).toEqual({ Authorization: 'Bearer sa-token' });
  });

  test('outside a pod, or without its token, in-cluster config is an error', () => {
    expect(() => inClusterConnection({}, dir)).toThrow('no --kubeconfig or --k8s-api-server, and not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset');
    write('ca.crt', 'CA');
    expect(() => inClusterConnection({ KUBERNETES_SERVICE_HOST: '198.18.0.1', KUBERNETES_SERVICE_PORT: '443' }, dir)).toThrow(/ENOENT.*token/);
  });

  // No kube-proxy: the kubernetes Service's ClusterIP in the environment answers only once kpr serves it.
  test('--k8s-api-server in a pod: the service account with the given address, the environment not needed', async () => {
    write('ca.crt', 'CA');
    write('token', 'sa-token');
    const conn = inClusterConnection({}, dir, parseApiServer('198.18.170.1:6443'));
    expect(conn.server.href).toBe('https://198.18.170.1:6443/');
    const o = await conn.requestOptions();
    expect(String(agentOptions(o).ca)).toBe('CA');
    expect(o.headers).toEqual({ Authorization: 'Bearer sa-token' });
    const beside = inClusterConnection({ KUBERNETES_SERVICE_HOST: '198.19.0.1', KUBERNETES_SERVICE_PORT: '443' }, dir, parseApiServer('https://[fd00:198:18:aa::1]:6443'));
    expect(beside.server.href).toBe('https://[fd00:198:18:aa::1]:6443/');
  });

  test("--k8s-api-server beside a kubeconfig replaces its server and keeps its credentials and TLS settings", async () => {
    const cluster = { server: 'https://198.18.0.9:6443', 'certificate-authority-data': b64('CA'), 'tls-server-name': 'kubernetes.default.svc' };
    const file = write('config', kubeconfig(cluster, { token: 't0ken' }));
    const conn = await kubeconfigConnection(file, parseApiServer('https://198.18.170.1:6443/prefix'));
    expect(conn.server.href).toBe('https://198.18.170.1:6443/prefix');
    const o = await conn.requestOptions();
    expect(o.headers).toEqual({ Authorization: 'Bearer t0ken' });
    expect(String(agentOptions(o).ca)).toBe('CA');
    expect(agentOptions(o).servername).toBe('kubernetes.default.svc');
    // A cluster entry without a server is whole once the flag gives one.
    const serverless = write('serverless', kubeconfig({ 'certificate-authority-data': b64('CA') }, {}));
    expect((await kubeconfigConnection(serverless, parseApiServer('198.18.170.1:6443'))).server.href).toBe('https://198.18.170.1:6443/');
  });

  test.each([
    ['198.18.170.1:6443', 'https://198.18.170.1:6443/'],
    ['https://198.18.170.1', 'https://198.18.170.1/'],
    ['https://198.18.170.1:443', 'https://198.18.170.1/'],
    ['[fd00:198:18:aa::1]:6443', 'https://[fd00:198:18:aa::1]:6443/'],
    ['HTTPS://API.Example:6443/k8s/', 'https://api.example:6443/k8s/'],
    ['api.example', 'https://api.example/'],
  ])('API server address %s is %s', (text, href) => {
    expect(parseApiServer(text).href).toBe(href);
  });

  test.each([
    ['http://198.18.170.1:8080', '"http://198.18.170.1:8080": kpr talks to API servers over https only'],
    ['198.18.170.1:70000', '"198.18.170.1:70000": port 70000 is not from 1 to 65535'],
    ['198.18.170.1:0', '"198.18.170.1:0": port 0 is no API server\'s port'],
    ['198.18.170.1:https', '"198.18.170.1:https" is not an address: give https://HOST[:PORT] or HOST:PORT'],
    ['fd00:198:18:aa::1', '"fd00:198:18:aa::1" is not an address: give https://HOST[:PORT] or HOST:PORT'],
    ['https://admin:pw@198.18.170.1', '"https://admin:pw@198.18.170.1": an API server address has no user, query or fragment'],
  ])('API server address %s is refused', (text, message) => {
    expect(() => parseApiServer(text)).toThrow(message);
  });

  test("the kubelet's environment: IPv6 in brackets, port 443 implied; anything else in it is refused", () => {
    expect(inClusterServer({ KUBERNETES_SERVICE_HOST: 'fd00:198:18:1::1', KUBERNETES_SERVICE_PORT: '443' }).href).toBe('https://[fd00:198:18:1::1]/');
    expect(inClusterServer({ KUBERNETES_SERVICE_HOST: '198.19.0.1', KUBERNETES_SERVICE_PORT: '6443' }).href).toBe('https://198.19.0.1:6443/');
    expect(() => inClusterServer({ KUBERNETES_SERVICE_HOST: '198.19.0.1', KUBERNETES_SERVICE_PORT: '65536' })).toThrow('KUBERNETES_SERVICE_PORT="65536" is not a port from 1 to 65535');
    expect(() => inClusterServer({ KUBERNETES_SERVICE_HOST: 'api/x', KUBERNETES_SERVICE_PORT: '443' })).toThrow('KUBERNETES_SERVICE_HOST="api/x" is not a host name or IP address');
  });
});
