// charts/kpr, rendered and checked by real tools against the pinned
// kube-apiserver (cluster.ts): helm lint; helm template with the default
// values and with non-default ones; kubeconform in strict mode against schemas
// made offline from this apiserver's own OpenAPI (kube_schemas.ts), the
// ServiceMonitor's from the CRD installed in it; the apiserver's full
// validation by server-side dry run; what the DaemonSet and the RBAC must
// say; the DaemonSet's arguments and the ConfigMap's file read by kpr's own
// parsers; and the agent run as the chart runs it, with the ServiceAccount's
// token, the chart's arguments and config file, and only its capabilities.
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { runConfig } from '../../lib/cli/commands/run';
import { RunConfig } from '../../lib/run_config';
import { inClusterServer } from '../../lib/sources/kube_config';
import { CAPACITY_EVENT_REASON } from '../../lib/sync/capacity';
import { readKubeProxyConfig } from '../../lib/kubeproxy_config';
import { ApiWriter, Json } from '../bench/control_plane_api';
import { startAgent } from '../helpers/agent';
import { BpfRoot, createBpfRoot } from '../helpers/bpf_root';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { LineProcess } from '../helpers/line_process';
import { assertPrivileged } from '../helpers/preflight';
import { sleep } from '../helpers/sleep';
import { createTestDir, TestDir } from '../helpers/test_dir';
import { runTool } from './chart_tools';
import { Cluster, kubeVersions, REPO_ROOT, startCluster } from './cluster';
import { KubeObjects } from './kube_objects';
import { serviceProgrammed } from './service_programmed';
import { writeKubeconformSchemas, WrittenSchemas } from './kube_schemas';

jest.setTimeout(180_000);

const CHART = path.join(REPO_ROOT, 'charts', 'kpr');
const CRD_FILE = path.join(REPO_ROOT, 'tests', 'e2e', 'servicemonitor-crd.yaml');
const NAMESPACE = 'kube-system';
const RELEASE = 'kpr';
const SERVICE_MONITOR_DEFINITION = 'com.coreos.monitoring.v1.ServiceMonitor';
const OPENAPI_TIMEOUT_MS = 30_000;
const APPLY_TIMEOUT_MS = 10_000;
const POLL_MS = 200;
const CAPABILITIES = ['BPF', 'NET_ADMIN', 'PERFMON', 'SYS_ADMIN', 'SYS_PTRACE'];
/** The bpffs init container's, in the chart's order. */
const INIT_CAPABILITIES = ['SYS_ADMIN', 'SYS_CHROOT', 'SYS_PTRACE'];

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}
// The parts of the objects the assertions read.
interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet: { path: string; port: string | number } };
  readinessProbe?: { httpGet: { path: string; port: string | number } };
  securityContext?: { privileged?: boolean; capabilities?: { add?: string[]; drop?: string[] }; appArmorProfile?: { type: string } };
  volumeMounts?: { name: string; mountPath: string; mountPropagation?: string; readOnly?: boolean }[];
}
interface PodSpec {
  serviceAccountName: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  dnsPolicy?: string;
  priorityClassName?: string;
  tolerations?: unknown[];
  nodeSelector?: Record<string, string>;
  initContainers?: Container[];
  containers: Container[];
  volumes: { name: string; hostPath?: { path: string }; configMap?: { name: string } }[];
}
interface DaemonSet extends K8sObject {
  spec: { updateStrategy: { type: string }; template: { spec: PodSpec } };
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** Values that change something in every template, beside the defaults. */
const VARIANTS: Record<string, Json> = {
  defaults: {},
  monitored: {
    fullnameOverride: 'kube-proxy-ebpf',
    k8sServiceHost: '198.18.170.1',
    k8sServicePort: 6443,
    config: {
      metricsBindAddress: '0.0.0.0:10249',
      healthzBindAddress: '0.0.0.0:10266',
      bindAddressHardFail: true,
      nodePortAddresses: ['198.18.0.0/15', 'fd00:198:18::/48'],
      iptables: { syncPeriod: '1m', minSyncPeriod: '0s' },
    },
    lb: { mode: 'dsr', algorithm: 'random', maglevTableSize: 65521, acceleration: 'native', devices: ['eth0', 'eth1'], serviceNoBackendResponse: 'drop' },
    bpf: { mountBpffs: false },
    cgroup: { hostRoot: '/sys/fs/cgroup/unified' },
    logLevel: 'debug',
    extraArgs: ['--min-sync-period=2s'],
    resources: { requests: { cpu: 1, memory: '512Mi' }, limits: { memory: '2Gi' } },
    podAnnotations: { 'example.com/team': 'network' },
    podLabels: { tier: 'node' },
    serviceAccount: { annotations: { 'example.com/owner': 'network' } },
    dashboards: { enabled: true, annotations: { grafana_folder: 'kpr' } },
    serviceMonitor: {
      enabled: true,
      interval: '15s',
      scrapeTimeout: '5s',
      labels: { release: 'prometheus' },
      relabelings: [{ action: 'replace', sourceLabels: ['__address__'], targetLabel: 'instance' }],
    },
  },
  existingAccount: { serviceAccount: { create: false, name: 'node-proxier' }, rbac: { create: false } },
};
type Variant = keyof typeof VARIANTS;
const VARIANT_NAMES = Object.keys(VARIANTS) as Variant[];

function ofKind<T extends K8sObject>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

function one<T extends K8sObject>(objects: K8sObject[], kind: string): T {
  const found = ofKind<T>(objects, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, rendered ${found.length}`);
  return found[0];
}

type DataMap = K8sObject & { metadata: { name: string; labels: Record<string, string> }; data: Record<string, string> };

/** The ConfigMap with kpr's config file (another holds the dashboard). */
function configFileMap(objects: K8sObject[]): DataMap {
  const found = ofKind<DataMap>(objects, 'ConfigMap').filter((m) => 'config.yaml' in m.data);
  if (found.length !== 1) throw new Error(`expected one ConfigMap with config.yaml, rendered ${found.length}`);
  return found[0];
}

function kprContainer(ds: DaemonSet): Container {
  const c = ds.spec.template.spec.containers.find((x) => x.name === 'kpr');
  if (!c) throw new Error('no container named kpr');
  return c;
}

/** The kubelet's environment of a pod in a cluster whose kubernetes Service is 198.19.0.1:443. */
const KUBELET_SERVICE_ENV = { KUBERNETES_SERVICE_HOST: '198.19.0.1', KUBERNETES_SERVICE_PORT: '443' };

/** The container's environment as the kubelet makes it: the container's own variables win over the service ones. */
function podEnv(c: Container, extra: Record<string, string>): Record<string, string> {
  const own = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value as string]));
  return { ...KUBELET_SERVICE_ENV, ...extra, ...own };
}

/** The value of --name=VALUE among args. */
function flag(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** The container's mount of the pod volume backed by the node's path hostPath. */
function hostMount(pod: PodSpec, c: Container, hostPath: string) {
  const volume = pod.volumes.find((v) => v.hostPath?.path === hostPath);
  return c.volumeMounts?.find((m) => m.name === volume?.name);
}

describe('charts/kpr', () => {
  let cluster: Cluster;
  let api: ApiWriter;
  let dir: TestDir;
  let schemas: WrittenSchemas;
  const valuesFiles = {} as Record<Variant, string>;
  const rendered = {} as Record<Variant, { file: string; objects: K8sObject[] }>;

  function helmTemplate(valuesFile: string) {
    return runTool('helm', ['template', RELEASE, CHART, '--namespace', NAMESPACE, '--values', valuesFile]);
  }

  function writeValues(name: string, values: Json): string {
    const file = path.join(dir.path, `values-${name}.yaml`);
    fs.writeFileSync(file, yaml.dump(values));
    return file;
  }

  function kubeconform(file: string) {
    return runTool('kubeconform', ['-strict', '-summary', '-output', 'json', '-schema-location', schemas.location, '-kubernetes-version', schemas.kubernetesVersion, file]);
  }

  /** The collection URL of an object's kind, from the apiserver's discovery. */
  async function collection(obj: K8sObject): Promise<string> {
    const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
    const list = (await api.request('GET', base)) as { resources: { name: string; kind: string; namespaced: boolean }[] };
    const resource = list.resources.find((r) => r.kind === obj.kind && !r.name.includes('/'));
    if (!resource) throw new Error(`the apiserver serves no ${obj.kind} in ${obj.apiVersion}`);
    return resource.namespaced ? `${base}/namespaces/${obj.metadata.namespace ?? NAMESPACE}/${resource.name}` : `${base}/${resource.name}`;
  }

  /** Creates obj, or only validates it with dryRun; unknown or duplicate fields are errors either way. */
  async function create(obj: K8sObject, dryRun: boolean): Promise<Json> {
    const query = `fieldValidation=Strict${dryRun ? '&dryRun=All' : ''}`;
    return api.request('POST', `${await collection(obj)}?${query}`, obj as unknown as Json);
  }

  /** The OpenAPI document once it includes the CRD's schema (the apiserver publishes it shortly after). */
  async function openApiWithCrd(): Promise<Json> {
    const deadline = Date.now() + OPENAPI_TIMEOUT_MS;
    for (;;) {
      const doc = await api.request('GET', '/openapi/v2');
      if (SERVICE_MONITOR_DEFINITION in (doc.definitions as Json)) return doc;
      if (Date.now() > deadline) throw new Error(`/openapi/v2 has no ${SERVICE_MONITOR_DEFINITION} after ${OPENAPI_TIMEOUT_MS} ms`);
      await sleep(POLL_MS);
    }
  }

  beforeAll(async () => {
    // The apiserver's default refuses privileged containers: its dry runs below prove the chart has none.
    cluster = await startCluster({ prefix: 'chart' });
    api = new ApiWriter(cluster, 4);
    dir = createTestDir('chart');
    await api.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', yaml.load(fs.readFileSync(CRD_FILE, 'utf8')) as Json);
    schemas = writeKubeconformSchemas(await openApiWithCrd(), path.join(dir.path, 'schemas'), kubeVersions().KUBE_VERSION);
    for (const name of VARIANT_NAMES) {
      valuesFiles[name] = writeValues(name, VARIANTS[name]);
      const r = helmTemplate(valuesFiles[name]);
      if (r.status !== 0) throw new Error(`helm template with ${name} values: exit ${r.status}: ${r.stderr}`);
      const file = path.join(dir.path, `rendered-${name}.yaml`);
      fs.writeFileSync(file, r.stdout);
      rendered[name] = { file, objects: (yaml.loadAll(r.stdout) as (K8sObject | null)[]).filter((o): o is K8sObject => o !== null) };
    }
  });
  afterAll(async () => {
    dir?.destroy();
    await cluster?.stop();
  });

  test('the schemas cover the built-in kinds the chart uses and the ServiceMonitor CRD', () => {
    for (const file of ['daemonset-apps-v1.json', 'configmap-v1.json', 'clusterrole-rbac-v1.json', 'servicemonitor-monitoring-v1.json']) {
      expect(schemas.files).toContain(file);
    }
  });

  test.each(VARIANT_NAMES)('helm lint --strict passes with the %s values', (name) => {
    const r = runTool('helm', ['lint', CHART, '--strict', '--namespace', NAMESPACE, '--values', valuesFiles[name]]);
    expect(`${r.stdout}${r.stderr}`).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.status).toBe(0);
  });

  test('the variants render the kinds they should', () => {
    const kinds = (name: Variant) => rendered[name].objects.map((o) => o.kind).sort();
    expect(kinds('defaults')).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'DaemonSet', 'ServiceAccount']);
    expect(kinds('monitored')).toEqual(['ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'ConfigMap', 'DaemonSet', 'Service', 'ServiceAccount', 'ServiceMonitor']);
    expect(kinds('existingAccount')).toEqual(['ConfigMap', 'DaemonSet']);
  });

  test.each(VARIANT_NAMES)('kubeconform -strict finds every object of the %s rendering valid, none skipped', (name) => {
    const r = kubeconform(rendered[name].file);
    expect(r.stderr).toBe('');
    const report = JSON.parse(r.stdout) as { resources: unknown[]; summary: Record<string, number> };
    expect(report).toEqual({ resources: [], summary: { valid: rendered[name].objects.length, invalid: 0, errors: 0, skipped: 0 } });
    expect(r.status).toBe(0);
  });

  test('kubeconform rejects an unknown field and a wrong type with these schemas', () => {
    const ds = structuredClone(one<DaemonSet>(rendered.defaults.objects, 'DaemonSet'));
    (ds.spec.template.spec as unknown as Json).hostPIDs = true;
    (kprContainer(ds).ports as unknown as Json[])[0].containerPort = 'healthz';
    const file = path.join(dir.path, 'broken.yaml');
    fs.writeFileSync(file, yaml.dump(ds));
    const r = kubeconform(file);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toContain("additional properties 'hostPIDs' not allowed");
    expect(r.stdout).toContain('got string, want integer');
  });

  test.each(VARIANT_NAMES)('the apiserver accepts every object of the %s rendering (server-side dry run, strict fields)', async (name) => {
    for (const obj of rendered[name].objects) {
      const created = await create(obj, true);
      expect((created.metadata as Json).name).toBe(obj.metadata.name);
    }
  });

  test("the apiserver refuses Bidirectional propagation in an unprivileged container: why bpffs is mounted in the node's mount namespace", async () => {
    const ds = structuredClone(one<DaemonSet>(rendered.defaults.objects, 'DaemonSet'));
    const bpffs = hostMount(ds.spec.template.spec, kprContainer(ds), '/sys/fs/bpf');
    if (!bpffs) throw new Error('no bpffs mount');
    bpffs.mountPropagation = 'Bidirectional';
    await expect(create(ds, true)).rejects.toThrow(/Bidirectional mount propagation is available only to privileged containers/);
  });

  test.each(['defaults', 'monitored'] as Variant[])('the %s DaemonSet runs kpr unprivileged on the host network, with its capabilities, probes and mounts', (name) => {
    const values = VARIANTS[name] as { config?: Json; cgroup?: Json; bpf?: Json };
    const ds = one<DaemonSet>(rendered[name].objects, 'DaemonSet');
    const pod = ds.spec.template.spec;
    const c = kprContainer(ds);
    const args = c.args ?? [];

    expect(ds.spec.updateStrategy.type).toBe('RollingUpdate');
    expect(pod).toMatchObject({ hostNetwork: true, hostPID: true, dnsPolicy: 'ClusterFirstWithHostNet', priorityClassName: 'system-node-critical' });
    expect(pod.tolerations).toEqual([{ operator: 'Exists' }]);
    expect(pod.nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });

    expect(c.securityContext?.privileged).toBe(false);
    expect(c.securityContext?.capabilities?.drop).toEqual(['ALL']);
    expect([...(c.securityContext?.capabilities?.add ?? [])].sort()).toEqual(CAPABILITIES);
    // No container is privileged, the init container that mounts bpffs included.
    const all = [...(pod.initContainers ?? []), ...pod.containers];
    expect(all.map((x) => [x.name, x.securityContext?.privileged])).toEqual([...(values.bpf?.mountBpffs === false ? [] : [['mount-bpffs', false]]), ['kpr', false]]);

    const healthzPort = Number(/(\d+)$/.exec(String(values.config?.healthzBindAddress ?? '0.0.0.0:10256'))?.[1]);
    expect(c.ports).toContainEqual({ name: 'healthz', containerPort: healthzPort, protocol: 'TCP' });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/livez', port: 'healthz' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/healthz', port: 'healthz' });

    expect(c.env).toContainEqual({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } });
    expect(args).toContain('--hostname-override=$(NODE_NAME)');

    // bpffs: the node's, seen by kpr with the init container's mount (and later ones).
    expect(flag(args, '--bpf-root')).toBe('/sys/fs/bpf');
    expect(hostMount(pod, c, '/sys/fs/bpf')).toMatchObject({ mountPath: '/sys/fs/bpf', mountPropagation: 'HostToContainer' });
    for (const init of pod.initContainers ?? []) {
      // It mounts in the node's mount namespace, reached through the host's pid 1, with three capabilities.
      expect(init.command?.slice(0, 3)).toEqual(['nsenter', '--mount=/proc/1/ns/mnt', '--']);
      expect(init.command?.join(' ')).toContain('mount -t bpf bpf "$BPF_ROOT"');
      expect(init.securityContext?.capabilities).toEqual({ drop: ['ALL'], add: INIT_CAPABILITIES });
      expect(init.securityContext?.appArmorProfile).toEqual({ type: 'Unconfined' });
      expect(init.volumeMounts ?? []).toEqual([]);
    }
    // cgroup: the node's cgroup v2 root, where kpr is told to attach.
    const cgroupMount = hostMount(pod, c, String(values.cgroup?.hostRoot ?? '/sys/fs/cgroup'));
    expect(cgroupMount?.readOnly).toBe(true);
    expect(flag(args, '--cgroup-root')).toBe(cgroupMount?.mountPath);
    // The config file is the ConfigMap's.
    const configMap = configFileMap(rendered[name].objects);
    const configVolume = pod.volumes.find((v) => v.configMap?.name === configMap.metadata.name);
    const configMount = c.volumeMounts?.find((m) => m.name === configVolume?.name);
    expect(flag(args, '--config')).toBe(`${configMount?.mountPath}/config.yaml`);
  });

  test('the DaemonSet ServiceAccount is the one the ClusterRoleBinding binds to the ClusterRole', () => {
    const objects = rendered.defaults.objects;
    const sa = one(objects, 'ServiceAccount');
    const binding = one<K8sObject & { roleRef: { kind: string; name: string }; subjects: Json[] }>(objects, 'ClusterRoleBinding');
    expect(one<DaemonSet>(objects, 'DaemonSet').spec.template.spec.serviceAccountName).toBe(sa.metadata.name);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: one(objects, 'ClusterRole').metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: NAMESPACE }]);
    expect(one<DaemonSet>(rendered.existingAccount.objects, 'DaemonSet').spec.template.spec.serviceAccountName).toBe('node-proxier');
  });

  test('the ClusterRole reads Services, EndpointSlices, Nodes, Pods, Namespaces and ServiceCIDRs, and writes only Events', () => {
    const rules = one<K8sObject & { rules: Rule[] }>(rendered.defaults.objects, 'ClusterRole').rules;
    const grants = rules.flatMap((r) => r.apiGroups.flatMap((g) => r.resources.flatMap((res) => r.verbs.map((v) => `${v} ${g || 'core'}/${res}`)))).sort();
    const read = (what: string) => ['get', 'list', 'watch'].map((v) => `${v} ${what}`);
    expect(grants).toEqual(
      [...read('core/services'), ...read('core/nodes'), ...read('core/pods'), ...read('core/namespaces'), ...read('discovery.k8s.io/endpointslices'), ...read('networking.k8s.io/servicecidrs'), 'create core/events', 'create events.k8s.io/events'].sort(),
    );
  });

  test.each(VARIANT_NAMES)('kpr reads the %s DaemonSet arguments and ConfigMap file without an error or a warning', (name) => {
    const configMap = configFileMap(rendered[name].objects);
    const file = configMap.data['config.yaml'];
    expect(readKubeProxyConfig(file).warnings).toEqual([]);

    const container = kprContainer(one<DaemonSet>(rendered[name].objects, 'DaemonSet'));
    const args = container.args ?? [];
    expect(args[0]).toBe('run');
    // The kubelet expands $(NODE_NAME) from the pod's env, and sets KUBERNETES_SERVICE_HOST and _PORT in every pod.
    const env = podEnv(container, { NODE_NAME: 'node-a' });
    const cfg = runConfig(
      args.slice(1).map((a) => a.replace('$(NODE_NAME)', env.NODE_NAME)),
      env,
      (f) => {
        if (f !== flag(args, '--config')) throw new Error(`kpr read ${f}, not the ConfigMap's file`);
        return file;
      },
    ) as RunConfig;
    expect(cfg.configWarnings).toEqual([]);
    expect(cfg.hostnameOverride).toBe('node-a');
    expect(cfg.source.kind).toBe('kubernetes');
    if (name === 'monitored') {
      expect(cfg).toMatchObject({
        metrics: { host: '0.0.0.0', port: 10249 },
        healthz: { host: '0.0.0.0', port: 10266 },
        bindAddressHardFail: true,
        nodePortAddresses: ['198.18.0.0/15', 'fd00:198:18::/48'],
        syncPeriodMs: 60_000,
        minSyncPeriodMs: 2000, // the extra flag overrides the file's 0s
        lbMode: 'dsr',
        lbAlgorithm: 'random',
        maglevTableSize: 65521,
        acceleration: 'native',
        devices: ['eth0', 'eth1'],
        noBackendResponse: 'drop',
        cgroupRoot: '/host/sys/fs/cgroup',
        logLevel: 'debug',
      });
    } else {
      expect(cfg).toMatchObject({ metrics: { host: '127.0.0.1', port: 10249 }, healthz: { host: '0.0.0.0', port: 10256 }, syncPeriodMs: 30_000, minSyncPeriodMs: 1000, lbMode: 'snat' });
    }
  });

  test('the metrics Service and ServiceMonitor select the kpr pods on the metrics port', () => {
    const objects = rendered.monitored.objects;
    const pod = one<DaemonSet>(objects, 'DaemonSet').spec.template as unknown as { metadata: { labels: Record<string, string> } };
    const svc = one<K8sObject & { metadata: { labels: Record<string, string> }; spec: { clusterIP: string; selector: Record<string, string>; ports: Json[] } }>(objects, 'Service');
    const monitor = one<K8sObject & { metadata: { labels: Record<string, string> }; spec: { selector: { matchLabels: Record<string, string> }; endpoints: Json[] } }>(objects, 'ServiceMonitor');
    expect(svc.spec.clusterIP).toBe('None');
    expect(pod.metadata.labels).toMatchObject(svc.spec.selector);
    expect(svc.spec.ports).toEqual([{ name: 'metrics', port: 10249, targetPort: 'metrics', protocol: 'TCP' }]);
    expect(svc.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.metadata.labels.release).toBe('prometheus');
    expect(monitor.spec.endpoints).toEqual([
      expect.objectContaining({ port: 'metrics', path: '/metrics', interval: '15s', scrapeTimeout: '5s' }),
    ]);
  });

  test("the dashboard ConfigMap holds dashboards/kpr.json as it is, labelled for Grafana's sidecar", () => {
    const maps = ofKind<DataMap & { metadata: { namespace: string; annotations?: Record<string, string> } }>(rendered.monitored.objects, 'ConfigMap').filter((m) => 'kpr.json' in m.data);
    expect(maps).toHaveLength(1);
    const ds = one<DaemonSet & { metadata: { namespace: string } }>(rendered.monitored.objects, 'DaemonSet');
    expect(maps[0].metadata).toMatchObject({ namespace: ds.metadata.namespace, labels: { grafana_dashboard: '1' }, annotations: { grafana_folder: 'kpr' } });
    expect(JSON.parse(maps[0].data['kpr.json'])).toEqual(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'charts', 'kpr', 'dashboards', 'kpr.json'), 'utf8')));
    expect(ofKind<DataMap>(rendered.defaults.objects, 'ConfigMap').filter((m) => 'kpr.json' in m.data)).toEqual([]);
  });

  test("k8sServiceHost and k8sServicePort replace the kubelet's address of the kubernetes Service, which needs a service proxy; unset, the kubelet's stays", () => {
    const kpr = (name: Variant) => kprContainer(one<DaemonSet>(rendered[name].objects, 'DaemonSet'));
    expect((kpr('defaults').env ?? []).map((e) => e.name)).toEqual(['NODE_NAME']);
    expect(kpr('monitored').env).toEqual(
      expect.arrayContaining([
        { name: 'KUBERNETES_SERVICE_HOST', value: '198.18.170.1' },
        { name: 'KUBERNETES_SERVICE_PORT', value: '6443' },
      ]),
    );
    // Where the agent, in-cluster, connects.
    expect(inClusterServer(podEnv(kpr('monitored'), {})).href).toBe('https://198.18.170.1:6443/');
    expect(inClusterServer(podEnv(kpr('defaults'), {})).href).toBe('https://198.19.0.1/');
    // An IPv6 address as it is, in brackets only once kpr makes it a URL; the port as a string too.
    const v6 = helmTemplate(writeValues('apiserver-v6', { k8sServiceHost: 'fd00:198:18:aa::1', k8sServicePort: '6443' }));
    expect(v6.stderr).toBe('');
    const ds = one<DaemonSet>((yaml.loadAll(v6.stdout) as (K8sObject | null)[]).filter((o): o is K8sObject => o !== null), 'DaemonSet');
    expect(inClusterServer(podEnv(kprContainer(ds), {})).href).toBe('https://[fd00:198:18:aa::1]:6443/');
  });

  test.each([
    [{ k8sServiceHost: '198.18.170.1' }, 'k8sServicePort is needed with k8sServiceHost'],
    [{ k8sServicePort: 6443 }, 'k8sServiceHost is needed with k8sServicePort'],
    [{ k8sServiceHost: '198.18.170.1:6443', k8sServicePort: 6443 }, 'k8sServiceHost: "198.18.170.1:6443" is not a host name or IP address (no scheme, brackets or port: the port goes in k8sServicePort)'],
    [{ k8sServiceHost: 'https://198.18.170.1', k8sServicePort: 6443 }, 'k8sServiceHost: "https://198.18.170.1" is not a host name or IP address'],
    [{ k8sServiceHost: '[fd00:198:18:aa::1]', k8sServicePort: 6443 }, 'k8sServiceHost: "[fd00:198:18:aa::1]" is not a host name or IP address'],
    [{ k8sServiceHost: '198.18.170.1', k8sServicePort: 65536 }, 'k8sServicePort: "65536" is not a port from 1 to 65535'],
    [{ k8sServiceHost: '198.18.170.1', k8sServicePort: 'https' }, 'k8sServicePort: "https" is not a port from 1 to 65535'],
  ])('the API server address %j is refused at render time', (values, message) => {
    const r = helmTemplate(writeValues('apiserver-bad', values));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(message);
  });

  test('a ServiceMonitor with metrics on loopback is refused at render time, saying what to set', () => {
    const r = helmTemplate(writeValues('loopback-monitor', { serviceMonitor: { enabled: true } }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('set it to 0.0.0.0:10249');
  });

  describe('the agent as the chart runs it', () => {
    const NODE = 'chart-node';
    let kube: KubeObjects;
    let cgroup: TestCgroup;
    let bpfRoot: BpfRoot;
    let agent: LineProcess | undefined;
    let kubeconfig: string;
    let configFile: string;
    let chartArgs: string[];

    /** setpriv as the container runtime sets a root container's capabilities: these and no others. */
    const withCapabilities = (caps: string[]) => ['setpriv', '--inh-caps=-all', '--ambient-caps=-all', `--bounding-set=-all,${caps.map((c) => `+${c.toLowerCase()}`).join(',')}`, '--'];

    /** The DaemonSet's arguments, less those naming the node's paths (startAgent gives the test's own) and with the test's config file. */
    function testArgs(): string[] {
      const replaced = ['run', '--bpf-root', '--cgroup-root', '--config', '--bpf-lb-acceleration'];
      return [
        ...chartArgs.filter((a) => !replaced.some((r) => a === r || a.startsWith(`${r}=`))).map((a) => a.replace('$(NODE_NAME)', NODE)),
        `--config=${configFile}`,
        // No XDP on this machine's devices; no fixed ports that another run may hold (flags override the file).
        '--bpf-lb-acceleration=disabled',
        '--metrics-bind-address=127.0.0.1:0',
        '--healthz-bind-address=127.0.0.1:0',
      ];
    }

    beforeAll(async () => {
      assertPrivileged();
      const objects = rendered.defaults.objects;
      for (const kind of ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding']) await create(one(objects, kind), false);
      const sa = one(objects, 'ServiceAccount').metadata.name;
      const request = await api.request('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/${sa}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds: 3600 },
      });
      kubeconfig = path.join(dir.path, 'serviceaccount.kubeconfig');
      fs.writeFileSync(
        kubeconfig,
        yaml.dump({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name: 'e2e', cluster: { server: cluster.server, 'certificate-authority': cluster.caFile } }],
          users: [{ name: sa, user: { token: (request.status as Json).token } }],
          contexts: [{ name: 'kpr', context: { cluster: 'e2e', user: sa } }],
          'current-context': 'kpr',
        }),
      );
      configFile = path.join(dir.path, 'config.yaml');
      fs.writeFileSync(configFile, configFileMap(objects).data['config.yaml']);
      chartArgs = kprContainer(one<DaemonSet>(objects, 'DaemonSet')).args ?? [];
      kube = new KubeObjects(cluster.kubeconfig);
      await kube.node(NODE, ['198.18.0.1']);
      cgroup = createTestCgroup('chart');
      bpfRoot = createBpfRoot('chart');
    });
    afterAll(async () => {
      await agent?.stop('SIGTERM');
      bpfRoot?.destroy();
      cgroup?.destroy();
    });

    test("the bpffs init container, unprivileged with its three capabilities, mounts bpffs in the node's mount namespace; with two it cannot", async () => {
      const init = (one<DaemonSet>(rendered.defaults.objects, 'DaemonSet').spec.template.spec.initContainers ?? [])[0];
      const caps = init.securityContext?.capabilities?.add ?? [];
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-node-bpffs-'));
      // The node: a mount namespace of its own held by a process, standing
      // for the node's pid 1 (this machine's pid 1 is not ours to enter).
      const node = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sleep', '60'], { stdio: 'ignore' });
      try {
        const ns = `/proc/${node.pid}/ns/mnt`;
        for (let i = 0; i < 50 && fs.readlinkSync(ns) === fs.readlinkSync('/proc/self/ns/mnt'); i++) await sleep(20);
        const nodeMounts = () => fs.readFileSync(`/proc/${node.pid}/mountinfo`, 'utf8').split('\n').filter((l) => l.split(' ')[4] === root);
        // The container: a mount namespace of its own too, as the runtime gives it, and only the capabilities given.
        const command = (init.command ?? []).map((a) => a.replace('/proc/1/', `/proc/${node.pid}/`));
        const inContainer = (capabilities: string[]) =>
          spawnSync('unshare', ['--mount', '--propagation', 'private', '--', ...withCapabilities(capabilities), ...command], {
            encoding: 'utf8',
            timeout: 10_000,
            env: { ...process.env, BPF_ROOT: root },
          });

        const withoutChroot = inContainer(caps.filter((c) => c !== 'SYS_CHROOT'));
        expect(withoutChroot.status).not.toBe(0);
        expect(withoutChroot.stderr).toMatch(/not permitted/);
        expect(nodeMounts()).toEqual([]);

        const r = inContainer(caps);
        expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
        expect(nodeMounts()).toEqual([expect.stringMatching(/ - bpf /)]);
        // Not in this namespace: the mount is the node's.
        expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(` ${root} `);
        // Run again, it finds the mount and leaves it: one bpffs, not two.
        expect(inContainer(caps).status).toBe(0);
        expect(nodeMounts()).toHaveLength(1);
      } finally {
        // The node's namespace, and its mount, go with its last process.
        node.kill('SIGKILL');
        fs.rmSync(root, { recursive: true, force: true });
      }
    });

    test('without the chart capabilities the agent cannot start: setpriv really takes them away', async () => {
      await expect(
        startAgent({ kubeconfig, bpfRoot: bpfRoot.path, cgroupRoot: cgroup.path, args: testArgs(), wrapper: withCapabilities(['NET_ADMIN']), readyTimeoutMs: 15_000 }),
      ).rejects.toThrow(/permission denied|not permitted/i);
    });

    test('with the ServiceAccount token, the chart arguments and config file and only its capabilities, it syncs a Service', async () => {
      const ds = one<DaemonSet>(rendered.defaults.objects, 'DaemonSet');
      const caps = kprContainer(ds).securityContext?.capabilities?.add ?? [];
      agent = await startAgent({ kubeconfig, bpfRoot: bpfRoot.path, cgroupRoot: cgroup.path, args: testArgs(), wrapper: withCapabilities(caps) });

      const { listing, want } = await serviceProgrammed(kube, 'chart', NODE, bpfRoot.path);

      for (const w of want) expect(listing).toContain(w);
      expect(agent.lines.join('\n')).not.toMatch(/forbidden/i);
    });

    test('with the ServiceAccount token, a Service that does not fit the maps gets its Warning Event', async () => {
      // Room for one entry: chart/web (a master and a slot) never fits.
      const small = { cgroup: createTestCgroup('chartcap'), bpfRoot: createBpfRoot('chartcap') };
      let full: LineProcess | undefined;
      try {
        full = await startAgent({ kubeconfig, bpfRoot: small.bpfRoot.path, cgroupRoot: small.cgroup.path, args: [...testArgs().filter((a) => !a.startsWith('--bpf-lb-map-max=')), '--bpf-lb-map-max=1'] });
        const deadline = Date.now() + APPLY_TIMEOUT_MS;
        let events: { reason?: string; involvedObject: { name?: string } }[] = [];
        while (!events.some((e) => e.involvedObject.name === 'web') && Date.now() < deadline) {
          events = (await kube.core.listNamespacedEvent({ namespace: 'chart' })).items.filter((e) => e.reason === CAPACITY_EVENT_REASON);
          if (events.length === 0) await sleep(POLL_MS);
        }
        expect(events.map((e) => e.involvedObject.name)).toEqual(['web']);
        expect(full.lines.join('\n')).not.toMatch(/forbidden|events: recording/i);
      } finally {
        await full?.stop('SIGTERM');
        small.bpfRoot.destroy();
        small.cgroup.destroy();
      }
    });
  });
});
