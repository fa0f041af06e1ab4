// One socket-LB test environment: a fresh cgroup, bpf root and manifest
// directory with an agent running on them, over a topology shared by a test
// file. Everything it makes is removed by destroy(), also after a failure.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SocketMaps, FrontendKey, loadAddon } from '../../lib/datapath/native';
import { startAgent } from '../helpers/agent';
import { BpfRoot, createBpfRoot } from '../helpers/bpf_root';
import { createTestCgroup, TestCgroup } from '../helpers/cgroup';
import { Place } from '../helpers/client_runner';
import { LineProcess } from '../helpers/line_process';
import { writeManifest } from '../helpers/manifests';
import { programmedBackends } from '../helpers/maps';
import { Topology } from '../helpers/topology';

const APPLY_TIMEOUT_MS = 5000;
const POLL_MS = 20;

export class LbFixture {
  agent?: LineProcess;
  readonly manifests: string;
  private readonly cgroup: TestCgroup;
  private readonly bpfRoot: BpfRoot;

  constructor(
    readonly topo: Topology,
    prefix: string,
  ) {
    this.cgroup = createTestCgroup(prefix);
    this.bpfRoot = createBpfRoot(prefix);
    this.manifests = fs.mkdtempSync(path.join(os.tmpdir(), `kpr-${prefix}-`));
  }

  get client(): Place {
    return { cgroup: this.cgroup.path, ns: this.topo.client.ns };
  }

  get bpfRootPath(): string {
    return this.bpfRoot.path;
  }

  /** Writes (replaces) one manifest file of the agent's directory. */
  write(file: string, content: string): void {
    writeManifest(this.manifests, file, content);
  }

  /** Standalone on this fixture's manifests, or Kubernetes mode with a kubeconfig. */
  async startAgent(opts: { kubeconfig?: string; args?: string[] } = {}): Promise<LineProcess> {
    this.agent = await startAgent({
      manifests: opts.kubeconfig ? undefined : this.manifests,
      kubeconfig: opts.kubeconfig,
      args: opts.args,
      bpfRoot: this.bpfRoot.path,
      cgroupRoot: this.cgroup.path,
    });
    return this.agent;
  }

  /** Removes one manifest file of the agent's directory. */
  remove(file: string): void {
    fs.rmSync(path.join(this.manifests, file));
  }

  /** The pinned maps, opened read-only as `kpr services` does. */
  withMaps<T>(fn: (maps: SocketMaps) => T): T {
    const maps = loadAddon().openPinnedSocketMaps(path.join(this.bpfRoot.path, 'kpr', 'maps'));
    try {
      return fn(maps);
    } finally {
      maps.close();
    }
  }

  /** Programmed backend addresses of fe, sorted. */
  backendsOf(fe: FrontendKey): string[] {
    return this.withMaps((maps) => programmedBackends(maps, fe).map((b) => `${b.addr}:${b.port}`).sort());
  }

  /** Waits until the maps hold exactly `expected` (addr:port, any order) for fe. */
  async waitForBackends(fe: FrontendKey, expected: string[], timeoutMs = APPLY_TIMEOUT_MS): Promise<void> {
    const want = JSON.stringify([...expected].sort());
    const deadline = Date.now() + timeoutMs;
    let seen = '';
    while (Date.now() < deadline) {
      seen = JSON.stringify(this.backendsOf(fe));
      if (seen === want) return;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    throw new Error(`${fe.addr}:${fe.port}/${fe.proto}: maps hold ${seen}, want ${want}\n${this.agent?.logTail() ?? ''}`);
  }

  drops(): number[] {
    return this.withMaps((maps) => maps.readDrops());
  }

  async destroy(): Promise<void> {
    await this.agent?.stop('SIGKILL');
    this.bpfRoot.destroy();
    this.cgroup.destroy();
    fs.rmSync(this.manifests, { recursive: true, force: true });
  }
}
