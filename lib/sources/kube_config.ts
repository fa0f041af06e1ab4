// Where the API server is and how kpr proves who it is: a kubeconfig file
// (--kubeconfig) or else the service account of the pod kpr runs in, with
// --k8s-api-server replacing the address either names. kpr
// reads both itself for what a node agent's credentials are made of — client
// certificates, bearer tokens, token files. A kubeconfig that needs anything
// else (a credential plugin, a proxy, basic auth) is read by client-node,
// which is loaded only then: loading it costs the agent about 80 MB of
// resident memory, some 40% of its budget at 10k services.
import * as fs from 'fs';
import * as https from 'https';
import * as yaml from 'js-yaml';
import * as net from 'net';
import * as path from 'path';
import { isJsonObject, Json } from './field_reader';
import { ApiConnection } from './kube_api';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The fields kpr reads itself; any other one in the context's cluster or
 *  user sends the whole kubeconfig to client-node. */
const OWN_CLUSTER_FIELDS = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name', 'extensions']);
const OWN_USER_FIELDS = new Set(['client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'token', 'tokenFile', 'extensions']);

interface Credentials {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  insecure?: boolean;
  serverName?: string;
  token?: string;
  /** Read for each request: the kubelet rotates service account tokens. */
  tokenFile?: string;
}

function httpsUrl(server: string): URL {
  const url = new URL(server);
  if (url.protocol !== 'https:') throw new Error(`API server ${server}: kpr talks to API servers over https only`);
  return url;
}

/** --k8s-api-server: https://HOST[:PORT][/PATH], or HOST:PORT as kube-proxy's
 *  --master takes it; the scheme defaults to https, the only one kpr speaks. */
export function parseApiServer(text: string): URL {
  const shape = 'give https://HOST[:PORT] or HOST:PORT';
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    const port = /^[^/]*\/\/[^/]*:(\d+)(?:\/|$)/.exec(withScheme)?.[1];
    if (port !== undefined && Number(port) > 65535) throw new Error(`${JSON.stringify(text)}: port ${port} is not from 1 to 65535`);
    throw new Error(`${JSON.stringify(text)} is not an address: ${shape}`);
  }
  if (url.protocol !== 'https:') throw new Error(`${JSON.stringify(text)}: kpr talks to API servers over https only`);
  if (!url.hostname) throw new Error(`${JSON.stringify(text)} names no host: ${shape}`);
  // URL drops :443 and refuses ports past 65535, but takes :0.
  if (url.port === '0') throw new Error(`${JSON.stringify(text)}: port 0 is no API server's port`);
  if (url.username || url.password || url.search || url.hash) throw new Error(`${JSON.stringify(text)}: an API server address has no user, query or fragment`);
  return url;
}

const hostPart = (host: string) => (net.isIPv6(host) ? `[${host}]` : host);

/** The API server a pod is told of: KUBERNETES_SERVICE_HOST and _PORT, which
 *  the kubelet sets to the kubernetes Service (reachable only once a service
 *  proxy runs), unless the pod's spec sets them itself. */
export function inClusterServer(env: NodeJS.ProcessEnv): URL {
  const { KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: port } = env;
  if (!host || !port) throw new Error('no --kubeconfig or --k8s-api-server, and not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset');
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw new Error(`KUBERNETES_SERVICE_PORT=${JSON.stringify(port)} is not a port from 1 to 65535`);
  let url: URL | undefined;
  try {
    url = new URL(`https://${hostPart(host)}:${port}`);
  } catch {
    url = undefined;
  }
  // A host that carried a port, a path or a scheme of its own would have moved into them.
  if (!url || url.pathname !== '/' || url.port !== (port === '443' ? '' : port) || url.username || url.search || url.hash) {
    throw new Error(`KUBERNETES_SERVICE_HOST=${JSON.stringify(host)} is not a host name or IP address`);
  }
  return url;
}

function connection(server: string | URL, c: Credentials): ApiConnection {
  // One kept-alive agent: a list's pages reuse its connection.
  const agent = new https.Agent({ keepAlive: true, ca: c.ca, cert: c.cert, key: c.key, rejectUnauthorized: !c.insecure, servername: c.serverName });
  return {
    server: httpsUrl(String(server)),
    async requestOptions() {
      const token = c.tokenFile ? (await fs.promises.readFile(c.tokenFile, 'utf8')).trim() : c.token;
      return { agent, headers: token ? { Authorization: `Bearer ${token}` } : {} };
    },
  };
}

/** The pod's service account, as client-go's rest.InClusterConfig reads it;
 *  server (--k8s-api-server) in place of the address in the environment. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR, server?: URL): ApiConnection {
  const url = server ?? inClusterServer(env);
  const tokenFile = path.join(dir, 'token');
  // Checked now, so that a pod without its token fails at start.
  fs.accessSync(tokenFile, fs.constants.R_OK);
  return connection(url, { ca: fs.readFileSync(path.join(dir, 'ca.crt')), tokenFile });
}

/** The entry of a kubeconfig list (clusters, users, contexts) by name. */
function entry(file: string, doc: Json, list: string, field: string, name: unknown): Json {
  const items = Array.isArray(doc[list]) ? (doc[list] as unknown[]) : [];
  const found = items.find((i) => isJsonObject(i) && i.name === name);
  const value = isJsonObject(found) ? found[field] : undefined;
  if (!isJsonObject(value)) throw new Error(`${file}: no ${field} named ${JSON.stringify(name ?? null)} in ${list}`);
  return value;
}

function text(file: string, v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new Error(`${file}: ${field} must be a string`);
  return v;
}

/** server (--k8s-api-server), when given, replaces the cluster's server and keeps its credentials, as kube-proxy's --master does. */
export async function kubeconfigConnection(file: string, server?: URL): Promise<ApiConnection> {
  const doc = yaml.load(fs.readFileSync(file, 'utf8'));
  if (!isJsonObject(doc)) throw new Error(`${file}: not a kubeconfig`);
  const context = entry(file, doc, 'contexts', 'context', doc['current-context']);
  const cluster = entry(file, doc, 'clusters', 'cluster', context.cluster);
  const user = context.user === undefined ? {} : entry(file, doc, 'users', 'user', context.user);
  const own = Object.keys(cluster).every((k) => OWN_CLUSTER_FIELDS.has(k)) && Object.keys(user).every((k) => OWN_USER_FIELDS.has(k));
  if (!own) return clientNodeConnection(file, server);
  // Files are named relative to the kubeconfig, as kubectl reads them.
  const dir = path.dirname(file);
  const bytes = (fileField: string, dataField: string, of: Json): Buffer | undefined => {
    const name = text(file, of[fileField], fileField);
    const data = text(file, of[dataField], dataField);
    return name ? fs.readFileSync(path.resolve(dir, name)) : data ? Buffer.from(data, 'base64') : undefined;
  };
  const ownServer = text(file, cluster.server, 'server');
  if (!server && !ownServer) throw new Error(`${file}: cluster ${JSON.stringify(context.cluster)} has no server`);
  const tokenFile = text(file, user.tokenFile, 'tokenFile');
  return connection(server ?? (ownServer as string), {
    ca: bytes('certificate-authority', 'certificate-authority-data', cluster),
    cert: bytes('client-certificate', 'client-certificate-data', user),
    key: bytes('client-key', 'client-key-data', user),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    serverName: text(file, cluster['tls-server-name'], 'tls-server-name'),
    token: text(file, user.token, 'token'),
    tokenFile: tokenFile && path.resolve(dir, tokenFile),
  });
}

/** client-node's KubeConfig, for the kubeconfigs kpr does not read itself. */
async function clientNodeConnection(file: string, override?: URL): Promise<ApiConnection> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  const server = override?.href ?? kc.getCurrentCluster()?.server;
  if (!server) throw new Error(`${file}: no current cluster`);
  return {
    server: httpsUrl(server),
    async requestOptions() {
      const options: https.RequestOptions = {};
      await kc.applyToHTTPSOptions(options);
      return options;
    },
  };
}

/** A kubeconfig file, or else the service account of the pod kpr runs in; apiServer (--k8s-api-server) replaces the address of either. */
export function loadConnection(kubeconfig: string | undefined, apiServer?: string): Promise<ApiConnection> {
  const server = apiServer === undefined ? undefined : parseApiServer(apiServer);
  return kubeconfig ? kubeconfigConnection(kubeconfig, server) : Promise.resolve(inClusterConnection(process.env, SERVICE_ACCOUNT_DIR, server));
}
