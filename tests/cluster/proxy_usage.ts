// What each node's proxy agent costs while upstream's tests run: resident
// memory and CPU time, sampled from /proc. A node is a network namespace
// here, so an agent belongs to the node whose namespace it is in. An agent
// restarted by a test is a new pid: its CPU adds up with its predecessor's.
// CPU counts from the start of the sampling, not from the agents' own start.
import * as fs from 'fs';
import { processArgv } from '../helpers/process_argv';
import { NODES, netnsPath } from './layout';

const SAMPLE_MS = 5000;
const CLOCK_TICKS = 100;

export interface NodeUsage {
  node: string;
  samples: number;
  peakRssMb: number;
  meanRssMb: number;
  cpuSeconds: number;
}

function netnsInode(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}

function rssKb(pid: string): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** utime + stime of the process and of its waited-for children, in ticks. */
function cpuTicks(pid: string): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: fields count from after its ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

export class ProxyUsage {
  private readonly timer: NodeJS.Timeout;
  private readonly rss = new Map<string, number[]>();
  /** node -> pid -> its last CPU ticks. */
  private readonly ticks = new Map<string, Map<string, number>>();
  /** What the agents running at the start had spent before it. */
  private readonly before = new Map<string, number>();

  constructor(private readonly isAgent: (argv: string[]) => boolean) {
    for (const n of NODES) {
      this.rss.set(n.name, []);
      this.ticks.set(n.name, new Map());
    }
    this.sample();
    for (const [node, pids] of this.ticks) this.before.set(node, [...pids.values()].reduce((s, t) => s + t, 0));
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
  }

  private sample(): void {
    const nodeOf = new Map(NODES.map((n) => [netnsInode(netnsPath(n)), n.name]));
    const rssNow = new Map<string, number>();
    for (const pid of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      const a = processArgv(pid) ?? [];
      if (a.length === 0 || !this.isAgent(a)) continue;
      const node = nodeOf.get(netnsInode(`/proc/${pid}/ns/net`));
      if (!node) continue;
      try {
        rssNow.set(node, (rssNow.get(node) ?? 0) + rssKb(pid));
        this.ticks.get(node)!.set(pid, cpuTicks(pid));
      } catch {
        // exited between the listing and the read
      }
    }
    for (const [node, kb] of rssNow) this.rss.get(node)!.push(kb / 1024);
  }

  stop(): NodeUsage[] {
    clearInterval(this.timer);
    this.sample();
    return NODES.map((n) => {
      const rss = this.rss.get(n.name)!;
      const ticks = [...this.ticks.get(n.name)!.values()].reduce((s, t) => s + t, 0) - (this.before.get(n.name) ?? 0);
      return {
        node: n.name,
        samples: rss.length,
        peakRssMb: Math.round(Math.max(0, ...rss)),
        meanRssMb: rss.length ? Math.round(rss.reduce((s, x) => s + x, 0) / rss.length) : 0,
        cpuSeconds: Math.round((ticks / CLOCK_TICKS) * 10) / 10,
      };
    });
  }
}
