// Where the API server is and how kpr proves who it is: a kubeconfig file
// (--kubeconfig) or else the service account of the pod kpr runs in. kpr
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

function connection(server: string, c: Credentials): ApiConnection {
  // One kept-alive agent: a list's pages reuse its connection.
  const agent = new https.Agent({ keepAlive: true, ca: c.ca, cert: c.cert, key: c.key, rejectUnauthorized: !c.insecure, servername: c.serverName });
  return {
    server: httpsUrl(server),
    async requestOptions() {
      const token = c.tokenFile ? (await fs.promises.readFile(c.tokenFile, 'utf8')).trim() : c.token;
      return { agent, headers: token ? { Authorization: `Bearer ${token}` } : {} };
    },
  };
}

/** The pod's service account, as client-go's rest.InClusterConfig reads it. */
export function inClusterConnection(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): ApiConnection {
  const { KUBERNETES_SERVICE_HOST: host, KUBERNETES_SERVICE_PORT: port } = env;
  if (!host || !port) throw new Error('no --kubeconfig, and not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset');
  const tokenFile = path.join(dir, 'token');
  // Checked now, so that a pod without its token fails at start.
  fs.accessSync(tokenFile, fs.constants.R_OK);
  return connection(`https://${net.isIPv6(host) ? `[${host}]` : host}:${port}`, { ca: fs.readFileSync(path.join(dir, 'ca.crt')), tokenFile });
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

export async function kubeconfigConnection(file: string): Promise<ApiConnection> {
  const doc = yaml.load(fs.readFileSync(file, 'utf8'));
  if (!isJsonObject(doc)) throw new Error(`${file}: not a kubeconfig`);
  const context = entry(file, doc, 'contexts', 'context', doc['current-context']);
  const cluster = entry(file, doc, 'clusters', 'cluster', context.cluster);
  const user = context.user === undefined ? {} : entry(file, doc, 'users', 'user', context.user);
  const own = Object.keys(cluster).every((k) => OWN_CLUSTER_FIELDS.has(k)) && Object.keys(user).every((k) => OWN_USER_FIELDS.has(k));
  if (!own) return clientNodeConnection(file);
  // Files are named relative to the kubeconfig, as kubectl reads them.
  const dir = path.dirname(file);
  const bytes = (fileField: string, dataField: string, of: Json): Buffer | undefined => {
    const name = text(file, of[fileField], fileField);
    const data = text(file, of[dataField], dataField);
    return name ? fs.readFileSync(path.resolve(dir, name)) : data ? Buffer.from(data, 'base64') : undefined;
  };
  const server = text(file, cluster.server, 'server');
  if (!server) throw new Error(`${file}: cluster ${JSON.stringify(context.cluster)} has no server`);
  const tokenFile = text(file, user.tokenFile, 'tokenFile');
  return connection(server, {
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
async function clientNodeConnection(file: string): Promise<ApiConnection> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  const server = kc.getCurrentCluster()?.server;
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

/** A kubeconfig file, or else the service account of the pod kpr runs in. */
export function loadConnection(kubeconfig: string | undefined): Promise<ApiConnection> {
  return kubeconfig ? kubeconfigConnection(kubeconfig) : Promise.resolve(inClusterConnection());
}
