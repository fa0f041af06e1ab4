// The agent: programs the socket load balancer from one source, a manifest
// directory (standalone mode) or the Kubernetes API, and keeps it in line with
// every change. It never detaches or flushes, on exit or when the source
// fails: pinned links and maps keep serving connections, and the next agent
// adopts them.
import * as fs from 'fs';
import * as http from 'http';
import * as path from 'path';
import { ensureBpffs } from './bpffs';
import { resolveCgroupRoot } from './cgroup';
import { pinPaths, RunConfig } from './config';
import { loadAddon, repoRoot } from './datapath/native';
import { Reconciler } from './datapath/reconciler';
import { Logger } from './log';
import { ProxyMetrics } from './metrics/proxy_metrics';
import { healthzHandler, metricsHandler, serve } from './metrics/server';
import { NodeContext } from './model/node';
import { nodeContext } from './model/node_context';
import { HttpsKubeApi } from './sources/kube_api';
import { loadConnection } from './sources/kube_config';
import { KubernetesSource } from './sources/kubernetes';
import { kubernetesTargets } from './sources/kubernetes_filters';
import { ManifestSource } from './sources/manifest';
import { nodeName } from './sources/node_name';
import { standaloneNode } from './sources/standalone_node';
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
  log: Logger;
}

/** Standalone: every change of the manifests is a complete object set. */
async function startManifests(manifests: string, w: Wiring): Promise<Source> {
  const source = new ManifestSource({ path: manifests, log: w.log });
  await source.start((objects) => {
    w.state.setNode(standaloneNode(w.node, objects.nodes));
    w.state.replaceAll(objects);
  });
  w.loop.start();
  return source;
}

/** Kubernetes: lists and watches feed the state; the first sync waits for all of them. */
async function startKubernetes(kubeconfig: string | undefined, w: Wiring): Promise<{ source: Source; server: string }> {
  const conn = await loadConnection(kubeconfig);
  const noNode: NodeContext = { name: w.node, labels: {}, addresses: [] };
  let nodeSeen = false;
  const source = new KubernetesSource(
    new HttpsKubeApi(conn),
    kubernetesTargets(w.node),
    {
      service: (key, svc) => w.state.service(key, svc),
      endpointSlice: (key, slice) => w.state.endpointSlice(key, slice),
      node: (node) => {
        nodeSeen ||= node !== undefined;
        w.state.setNode(node ? nodeContext(node) : noNode);
      },
      synced: () => {
        if (!nodeSeen) w.log.warn(`kubernetes: Node ${w.node} not found: no labels for topology, no addresses for NodePorts (--hostname-override?)`);
        w.loop.start();
      },
    },
    w.log,
  );
  source.start();
  return { source, server: conn.server.href };
}

async function startServers(cfg: RunConfig, metrics: ProxyMetrics, log: Logger): Promise<http.Server[]> {
  const servers: (http.Server | undefined)[] = [];
  if (cfg.metrics) servers.push(await serve('metrics', cfg.metrics, metricsHandler(metrics), log, cfg.bindAddressHardFail));
  // kube-proxy's health timeout: two sync periods.
  if (cfg.healthz) servers.push(await serve('healthz', cfg.healthz, healthzHandler(metrics, 2 * cfg.syncPeriodMs), log, cfg.bindAddressHardFail));
  return servers.filter((s): s is http.Server => s !== undefined);
}

/** Sets up the datapath and serves until SIGINT or SIGTERM. */
export async function runAgent(cfg: RunConfig, log: Logger): Promise<void> {
  if (cfg.source.kind === 'manifests' && !fs.existsSync(cfg.source.path)) throw new Error(`--manifests ${cfg.source.path}: no such file or directory`);
  for (const warning of cfg.configWarnings) log.warn(`config: ${warning}`);
  const node = nodeName(cfg.hostnameOverride);
  ensureBpffs(cfg.bpfRoot, log);
  const cgroupRoot = resolveCgroupRoot(cfg.cgroupRoot, log);
  const pins = pinPaths(cfg.bpfRoot);
  const dp = loadAddon().openDatapath({
    objectPath: path.join(repoRoot(), 'bpf', 'sock_lb.o'),
    mapDir: pins.maps,
    lbMapMax: cfg.lbMapMax,
    revNatMapMax: cfg.revNatMapMax,
  });
  for (const a of dp.attachCgroup(cgroupRoot, pins.links)) log.info(`attach: ${a.prog} ${a.action} on ${cgroupRoot}`);
  const reconciler = new Reconciler(dp, { lbMapMax: cfg.lbMapMax });
  const adopted = reconciler.adopt();
  log.info(`adopted ${adopted.frontends.size} frontends and ${adopted.backends.size} backends from ${pins.maps}`);

  const metrics = new ProxyMetrics();
  const servers = await startServers(cfg, metrics, log);
  const where = `node ${node}, cgroup ${cgroupRoot}, maps ${pins.maps}`;
  const origin = cfg.source.kind === 'manifests' ? `manifests ${cfg.source.path}` : `kubernetes ${cfg.source.kubeconfig ?? 'in-cluster'}`;
  const readyDetail = `${origin}, ${where}`;
  const timing = { minSyncPeriodMs: cfg.minSyncPeriodMs, syncPeriodMs: cfg.syncPeriodMs };
  const state: ProxyState = new ProxyState({ name: node, labels: {}, addresses: [] }, { nodePortAddresses: cfg.nodePortAddresses }, metrics, () => loop.changed());
  const loop: SyncLoop = new SyncLoop(dp, reconciler, state, metrics, log, readyDetail, timing);
  const w: Wiring = { node, state, loop, log };
  // Handlers go in before anything can say "ready": a SIGTERM that finds
  // none kills the process outright.
  let source: Source | undefined;
  const exited = new Promise<void>((resolve) => {
    const exit = (signal: string) => {
      log.info(`${signal}: exiting; pinned maps and links stay in place`);
      source?.stop();
      loop.stop();
      for (const s of servers) s.close();
      resolve();
    };
    process.once('SIGINT', () => exit('SIGINT'));
    process.once('SIGTERM', () => exit('SIGTERM'));
  });
  if (cfg.source.kind === 'manifests') {
    source = await startManifests(cfg.source.path, w);
  } else {
    const k = await startKubernetes(cfg.source.kubeconfig, w);
    log.info(`kubernetes: watching ${k.server} as node ${node}`);
    source = k.source;
  }
  await exited;
}
