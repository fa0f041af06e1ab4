// The agent of standalone mode: programs the socket load balancer from a
// manifest source and keeps it in line with every change. It never detaches
// or flushes on exit: pinned links and maps keep serving connections, and
// the next agent adopts them.
import * as fs from 'fs';
import * as path from 'path';
import { ensureBpffs } from './bpffs';
import { resolveCgroupRoot } from './cgroup';
import { pinPaths, RunConfig } from './config';
import { Datapath, loadAddon, repoRoot } from './datapath/native';
import { networkNamespaces } from './datapath/netns';
import { Reconciler } from './datapath/reconciler';
import { Logger } from './log';
import { desiredFrontends } from './model/desired';
import { formatAddrPort } from './model/ip_address';
import { ManifestObjects, ManifestSource } from './sources/manifest';

/** After a failed sync the maps are read again and the sync retried. */
const RETRY_MS = 1000;

const since = (start: bigint) => `${(Number(process.hrtime.bigint() - start) / 1e6).toFixed(1)}ms`;

/** Runs model and plan for the latest objects; one sync at a time, since
 *  the source calls it synchronously and the map writes are synchronous. */
export class SyncLoop {
  private latest?: ManifestObjects;
  private retry?: NodeJS.Timeout;
  private ready = false;
  private reportedConflicts = '';

  constructor(
    private readonly dp: Pick<Datapath, 'destroyUdpSockets'>,
    private readonly reconciler: Reconciler,
    private readonly log: Logger,
    private readonly readyDetail: string,
  ) {}

  update(objects: ManifestObjects): void {
    this.latest = objects;
    this.run();
  }

  stop(): void {
    clearTimeout(this.retry);
  }

  private run(): void {
    clearTimeout(this.retry);
    if (!this.latest) return;
    const start = process.hrtime.bigint();
    try {
      const { frontends, conflicts } = desiredFrontends(this.latest.services, this.latest.endpointSlices);
      const report = conflicts.join('\n');
      if (report !== this.reportedConflicts) conflicts.forEach((c) => this.log.error(c));
      this.reportedConflicts = report;
      const r = this.reconciler.sync(frontends);
      for (const s of r.skipped) this.log.error(`capacity: ${s.reason}; skipped`);
      const skipped = r.skipped.length > 0 ? `, ${r.skipped.length} skipped` : '';
      this.log.info(`sync: ${r.frontends} frontends, ${r.backends} backends, ${r.writes} writes in ${since(start)}${skipped}`);
      if (r.udpTargets.length > 0) this.destroyUdpSockets(r.udpTargets);
    } catch (e) {
      this.log.error(`sync failed: ${(e as Error).message}; retrying in ${RETRY_MS}ms`);
      this.retry = setTimeout(() => this.run(), RETRY_MS);
      return;
    }
    if (!this.ready) {
      this.ready = true;
      this.log.info(`kpr: ready (${this.readyDetail})`);
    }
  }

  private destroyUdpSockets(targets: { addr: string; port: number }[]): void {
    const start = process.hrtime.bigint();
    const list = targets.map((t) => formatAddrPort(t.addr, t.port)).join(', ');
    try {
      const n = this.dp.destroyUdpSockets(targets, networkNamespaces());
      this.log.info(`udp: destroyed ${n} connected sockets to removed backends ${list} in ${since(start)}`);
    } catch (e) {
      this.log.error(`udp: destroying sockets to ${list} failed: ${(e as Error).message}`);
    }
  }
}

/** Sets up the datapath and serves until SIGINT or SIGTERM. */
export async function runAgent(cfg: RunConfig, log: Logger): Promise<void> {
  if (!fs.existsSync(cfg.manifests)) throw new Error(`--manifests ${cfg.manifests}: no such file or directory`);
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

  const loop = new SyncLoop(dp, reconciler, log, `manifests ${cfg.manifests}, cgroup ${cgroupRoot}, maps ${pins.maps}`);
  const source = new ManifestSource({ path: cfg.manifests, log });
  await source.start((objects) => loop.update(objects));
  await new Promise<void>((resolve) => {
    const exit = (signal: string) => {
      log.info(`${signal}: exiting; pinned maps and links stay in place`);
      source.stop();
      loop.stop();
      resolve();
    };
    process.once('SIGINT', () => exit('SIGINT'));
    process.once('SIGTERM', () => exit('SIGTERM'));
  });
}
