// The agent: programs the socket load balancer and the XDP edge load
// balancer from one source, a manifest directory (standalone mode) or the
// Kubernetes API, and keeps them in line with every change. It never detaches or flushes, on exit or when the source
// fails: pinned links and maps keep serving connections, and the next agent
// adopts them.
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { attachMode } from './datapath/edge/attach';
import { openEdgeLb } from './datapath/edge/edge_lb';
import { loadAddon, repoRoot } from './datapath/native';
import { openSocketLb } from './datapath/socket/socket_lb';
import { HealthCheckServers } from './health_check_node_port';
import { ensureBpffs, pinPaths, privatePinDirs, privatePins } from './host/bpffs';
import { resolveCgroupRoot } from './host/cgroup';
import { applyConntrackSettings } from './host/conntrack_sysctls';
import { nodeInheritedNat } from './host/inherited_nat';
import { namespaceInterfaces } from './host/devices';
import { currentNetns } from './host/netns';
import { Logger } from './log';
import { DatapathMetrics } from './metrics/datapath_metrics';
import { ProxierHealth } from './metrics/proxier_health';
import { ProxyMetrics } from './metrics/proxy_metrics';
import { healthzHandler, metricsHandler, serve } from './metrics/server';
import { nodeAddresses } from './model/backend_location';
import { SourceNode } from './model/node';
import { nodeContext } from './model/node_context';
import { Node } from './model/objects';
import { RunConfig } from './run_config';
import { InterfaceAddressWatch } from './sources/interface_addresses';
import { HttpsKubeApi } from './sources/kube_api';
import { loadConnection } from './sources/kube_config';
import { serviceEventRecorder } from './sources/kube_events';
import { KubernetesSource } from './sources/kubernetes';
import { kubernetesTargets } from './sources/kubernetes_filters';
import { ManifestSource } from './sources/manifest';
import { nodeName } from './sources/node_name';
import { handOn, KeyedObject } from './sources/object_handlers';
import { standaloneNode } from './sources/standalone_node';
import { AttachmentRepair } from './sync/attachment_repair';
import { CapacityReport } from './sync/capacity';
import { FlowCollector } from './sync/flow_gc';
import { ProxyState } from './sync/proxy_state';
import { SyncLoop } from './sync/sync_loop';

/** A running source, to be stopped on exit. */
interface Source {
  stop(): void;
}

interface Wiring {
  node: string;
  state: ProxyState;
  loop: SyncLoop;
  health: ProxierHealth;
  capacity: CapacityReport;
  log: Logger;
  /** --service-proxy-name. */
  proxyName?: string;
}

/** Standalone: the manifests' changes, object by object. A manifest Node of
 *  this node's name counts as the Kubernetes one would, for health too;
 *  without one the node is there to stay. */
async function startManifests(manifests: string, w: Wiring): Promise<Source> {
  const source = new ManifestSource({ path: manifests, log: w.log, proxyName: w.proxyName });
  const nodes = new Map<string, Node>();
  await source.start((changes) => {
    for (const { identity, was, now } of changes) {
      if (now?.kind === 'Node') nodes.set(identity, now.object);
      else if (was?.kind === 'Node') nodes.delete(identity);
      else handOn(w.state, identity, (now ?? was) as KeyedObject, now !== undefined);
    }
    const all = [...nodes.values()];
    const node = all.find((n) => n.metadata.name === w.node);
    if (node) w.health.syncNode(node);
    w.state.setNode(standaloneNode(w.node, all));
    w.state.setNodeAddresses(nodeAddresses(all));
  });
  w.loop.start();
  return source;
}

/** Kubernetes: lists and watches feed the state; the first sync waits for all of them. */
async function startKubernetes(kubeconfig: string | undefined, apiServer: string | undefined, w: Wiring): Promise<{ source: Source; server: string }> {
  const conn = await loadConnection(kubeconfig, apiServer);
  const noNode: SourceNode = { name: w.node, labels: {}, addresses: [] };
  let nodeSeen = false;
  const api = new HttpsKubeApi(conn);
  w.capacity.recordEvents(serviceEventRecorder(api, w.node, w.log));
  const source = new KubernetesSource(
    api,
    w.node,
    kubernetesTargets(w.node, w.proxyName),
    {
      service: (key, svc) => w.state.service(key, svc),
      endpointSlice: (key, slice) => w.state.endpointSlice(key, slice),
      node: (node: Node | undefined) => {
        nodeSeen ||= node !== undefined;
        // A Node that never existed says nothing of this node's health; one that went away does.
        if (nodeSeen) w.health.syncNode(node);
        w.state.setNode(node ? nodeContext(node) : noNode);
      },
      nodes: (all) => w.state.setNodeAddresses(nodeAddresses(all)),
      pod: (key, pod) => w.state.pod(key, pod),
      namespace: (key, ns) => w.state.namespace(key, ns),
      serviceCIDR: (key, cidr) => w.state.serviceCIDR(key, cidr),
      synced: () => {
        if (!nodeSeen) w.log.warn(`kubernetes: Node ${w.node} not found: no labels for topology, no Node addresses, NodePorts on the interfaces' addresses alone (--hostname-override?)`);
        w.loop.start();
      },
    },
    w.log,
  );
  source.start();
  return { source, server: conn.server.href };
}

/** kube-proxy's health timeout: two sync periods. */
const healthTimeoutMs = (cfg: RunConfig) => 2 * cfg.syncPeriodMs;

async function startServers(cfg: RunConfig, metrics: ProxyMetrics, kpr: DatapathMetrics, log: Logger): Promise<http.Server[]> {
  const servers: (http.Server | undefined)[] = [];
  if (cfg.metrics) servers.push(await serve('metrics', cfg.metrics, metricsHandler(metrics.registry, () => kpr.collect()), log, cfg.bindAddressHardFail));
  if (cfg.healthz) servers.push(await serve('healthz', cfg.healthz, healthzHandler(metrics), log, cfg.bindAddressHardFail));
  return servers.filter((s): s is http.Server => s !== undefined);
}

/** Where the programs are to be kept: read through the addon, recorded beside the maps. */
function attachmentRepair(pins: { maps: string; links: string }, kpr: DatapathMetrics, log: Logger): AttachmentRepair {
  const addon = loadAddon();
  return new AttachmentRepair({
    read: (devices) => addon.readAttachments({ linkDir: pins.links, devices }),
    record: (rows) => addon.writeAttachRecord(pins.maps, rows),
    netns: currentNetns(),
    log,
    reattached: (program, attachPoint) => kpr.programReattached(program, attachPoint),
  });
}

/** Sets up the datapath and serves until SIGINT or SIGTERM. */
export async function runAgent(cfg: RunConfig, log: Logger): Promise<void> {
  if (cfg.source.kind === 'manifests' && !fs.existsSync(cfg.source.path)) throw new Error(`--manifests ${cfg.source.path}: no such file or directory`);
  for (const warning of cfg.configWarnings) log.warn(`config: ${warning}`);
  const node = nodeName(cfg.hostnameOverride);
  // Every check that can fail comes before the first change to the node.
  const interfaces = cfg.devices && attachMode(cfg.acceleration) ? namespaceInterfaces() : [];
  const missing = (cfg.devices ?? []).filter((d) => interfaces.length > 0 && !interfaces.includes(d));
  if (missing.length > 0) throw new Error(`flag --devices: no interface ${missing.join(', ')} here (there are ${interfaces.join(', ')})`);
  const cgroupRoot = resolveCgroupRoot(cfg.cgroupRoot, log);
  ensureBpffs(cfg.bpfRoot, log);
  applyConntrackSettings(cfg.conntrack, log, cfg.procfs);
  const pins = pinPaths(cfg.bpfRoot);
  const pinDirs = [path.dirname(pins.maps), pins.maps, pins.links];
  privatePinDirs(pinDirs);
  const metrics = new ProxyMetrics(new ProxierHealth(healthTimeoutMs(cfg)), { kubeProxyTotalGauge: cfg.metricsKubeProxyTotalGauge });
  const kpr = new DatapathMetrics(metrics.registry, cfg.metricsPerService);
  // Before any program attaches, while the other proxy's nat chains still exist.
  const inheritedNat = nodeInheritedNat(cfg.procfs, log, (n) => kpr.inheritedNatConnections(n));
  inheritedNat.check();
  const repair = attachmentRepair(pins, kpr, log);
  kpr.attachmentsFrom(() => repair.places());
  const capacity = new CapacityReport({ log, pending: (datapath, n) => kpr.pendingForCapacity(datapath, n) });
  // Called only from a full sync's check, which the loop runs: `loop` (made below, after the LBs) exists by then.
  const deps = { kpr, capacity, repair, log, resync: () => loop.mapsChanged() };
  const objectDir = cfg.bpfObjectDir ?? path.join(repoRoot(), 'bpf');
  // The edge LB first: the per-packet path is its, and the socket LB bypasses nothing without it.
  const edge = openEdgeLb(cfg, objectDir, pins.maps, deps);
  const podPath = edge !== undefined && cfg.podInterfaces !== undefined;
  const socket = openSocketLb({ ...cfg, podPath }, objectDir, pins, cgroupRoot, deps);
  const lbs = edge ? [socket, edge] : [socket];
  privatePins([pins.maps, pins.links]);
  kpr.readFrom(lbs.map((lb) => lb.metrics));
  const gc = new FlowCollector({
    gc: loadAddon().openFlowGc(pins.maps),
    intervalMs: cfg.gcIntervalMs,
    capacities: Object.assign({}, ...lbs.map((lb) => lb.metrics.capacities)),
    reported: (reports) => kpr.flowGcStep(reports),
    log,
  });
  gc.start();

  const servers = await startServers(cfg, metrics, kpr, log);
  const where = `node ${node}, cgroup ${cgroupRoot}, maps ${pins.maps}`;
  const origin = cfg.source.kind === 'manifests' ? `manifests ${cfg.source.path}` : `kubernetes ${cfg.source.kubeconfig ?? 'in-cluster'}${cfg.source.apiServer ? ` at ${cfg.source.apiServer}` : ''}`;
  const readyDetail = `${origin}, ${where}`;
  const timing = { minSyncPeriodMs: cfg.minSyncPeriodMs, syncPeriodMs: cfg.syncPeriodMs };
  const modelConfig = {
    nodePortAddresses: cfg.nodePortAddresses,
    lbMode: cfg.lbMode,
    lbAlgorithm: cfg.lbAlgorithm,
    lbSourceRangeAllTypes: cfg.lbSourceRangeAllTypes,
    externalClusterIP: cfg.externalClusterIP,
    localhostNodePorts: cfg.localhostNodePorts,
    podPath,
  };
  const state: ProxyState = new ProxyState({ name: node, labels: {}, addresses: [] }, modelConfig, metrics, () => loop.changed());
  const healthChecks = new HealthCheckServers(() => metrics.health.isHealthy(Date.now()), log);
  const loop: SyncLoop = new SyncLoop(lbs.map((lb) => lb.sync), state, metrics, log, readyDetail, timing, { attachments: repair, healthChecks, inheritedNat });
  const addressWatch = new InterfaceAddressWatch((addresses) => state.setInterfaceAddresses(addresses), log);
  const w: Wiring = { node, state, loop, health: metrics.health, capacity, log, proxyName: cfg.serviceProxyName };
  // Handlers go in before anything can say "ready": a SIGTERM that finds
  // none kills the process outright.
  let source: Source | undefined;
  const exited = new Promise<void>((resolve) => {
    const exit = (signal: string) => {
      log.info(`${signal}: exiting; pinned maps and links stay in place`);
      source?.stop();
      addressWatch.stop();
      loop.stop();
      gc.stop();
      for (const lb of lbs) lb.stop?.();
      for (const s of servers) s.close();
      healthChecks.closeAll();
      resolve();
    };
    process.once('SIGINT', () => exit('SIGINT'));
    process.once('SIGTERM', () => exit('SIGTERM'));
  });
  // Read before the sources start, so that the first sync has them.
  addressWatch.start();
  if (cfg.source.kind === 'manifests') {
    source = await startManifests(cfg.source.path, w);
  } else {
    const k = await startKubernetes(cfg.source.kubeconfig, cfg.source.apiServer, w);
    log.info(`kubernetes: watching ${k.server} as node ${node}`);
    source = k.source;
  }
  await exited;
}
