// The node's interfaces towards pods: where the per-packet path goes
// (bpf/include/kpr_pod_path.h). Found by kind, not by CNI: a veth or netkit
// device whose other end lives in another network namespace is how every
// common CNI (bridge, ptp, Calico, Cilium, Flannel's bridge) and sandbox
// runtime (Kata, gVisor's veth, KubeVirt's pod network) hands a pod its
// network; the node's own devices (--devices) are never one. An operator can
// name them instead (--bpf-lb-pod-interfaces), by name or prefix ("lxc+").
// Kept current by the kernel's link events (`ip monitor link`): a pod's
// first packet should find the path in place.
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { Logger } from '../log';

export interface LinkInfo {
  name: string;
  /** rtnetlink's kind (veth, netkit, bridge, ...); absent for plain devices. */
  kind?: string;
  /** The peer's network namespace, as this namespace numbers it; absent:
   *  the peer (if any) is here too. */
  peerNetnsId?: number;
}

/** 'auto': by kind; otherwise names and prefixes ("lxc+"); empty: none. */
export type PodInterfaceChoice = 'auto' | string[];

/** `ip -j -d link show` as LinkInfo. */
export function parseLinks(json: string): LinkInfo[] {
  const rows = JSON.parse(json) as { ifname: string; link_netnsid?: number; linkinfo?: { info_kind?: string } }[];
  return rows.map((r) => ({
    name: r.ifname,
    ...(r.linkinfo?.info_kind ? { kind: r.linkinfo.info_kind } : {}),
    ...(r.link_netnsid !== undefined ? { peerNetnsId: r.link_netnsid } : {}),
  }));
}

const POD_KINDS = new Set(['veth', 'netkit']);

function matches(name: string, patterns: string[]): boolean {
  return patterns.some((p) => (p.endsWith('+') ? name.startsWith(p.slice(0, -1)) : name === p));
}

/** The interfaces towards pods among links, in name order; never one of
 *  the node's devices. */
export function podInterfaces(links: LinkInfo[], choice: PodInterfaceChoice, nodeDevices: string[]): string[] {
  const node = new Set(nodeDevices);
  const picked = links.filter((l) => !node.has(l.name) && (choice === 'auto' ? POD_KINDS.has(l.kind ?? '') && l.peerNetnsId !== undefined : matches(l.name, choice)));
  return picked.map((l) => l.name).sort();
}

/** The links of the caller's network namespace. */
export function readLinks(): LinkInfo[] {
  return parseLinks(execFileSync('ip', ['-j', '-d', 'link', 'show'], { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

/** How long one `ip monitor` lives: an agent killed outright (SIGKILL) cannot
 *  stop its child, which would otherwise outlive it, holding its network
 *  namespace. A new one takes over at once, and the links are looked at
 *  again for what came in between. */
const MONITOR_LIFETIME_S = 600;
/** timeout(1)'s exit status when the time ran out. */
const TIMED_OUT = 124;

/** Calls changed() after the kernel reports links added or removed (a
 *  burst of events, as a pod's start brings, coalesced over settleMs), and
 *  whenever events may have been missed; `ip monitor` is restarted when it
 *  ends. stop() ends it. */
export class LinkEvents {
  private child?: ChildProcess;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly changed: () => void,
    private readonly log: Logger,
    private readonly settleMs = 50,
  ) {}

  start(): void {
    if (this.stopped) return;
    const child = spawn('timeout', [String(MONITOR_LIFETIME_S), 'ip', '-o', 'monitor', 'link'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout?.on('data', () => this.soon());
    child.stderr?.on('data', (d: Buffer) => this.log.warn(`pod interfaces: ip monitor: ${d.toString().trim()}`));
    child.on('error', (e) => this.log.error(`pod interfaces: watching link events failed: ${e.message}; interfaces are looked for at each sync only`));
    child.on('exit', (code, signal) => {
      if (this.stopped) return;
      if (code === TIMED_OUT) {
        this.start();
      } else {
        this.log.warn(`pod interfaces: ip monitor ended (${code ?? signal}); restarting it`);
        setTimeout(() => this.start(), 1000).unref();
      }
      this.soon();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.child?.kill();
  }

  private soon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.changed();
    }, this.settleMs);
  }
}
