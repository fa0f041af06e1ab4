// An edge datapath for packet tests: xdp_lb.o loaded with its maps pinned in
// a fresh bpf root, and a network namespace whose FIB answers the program's
// bpf_fib_lookup, with tc_dsr.o beside it: one veth port ("the NIC") on 198.18.0.0/24 and
// fd00:198:18::/64 with permanent neighbours for two backend nodes and none
// for a third, so that both FIB outcomes are deterministic.
import * as path from 'path';
import { ensureBpffs } from '../../lib/host/bpffs';
import { DEFAULT_FLOW_TIMEOUTS } from '../../lib/datapath/edge/flow_timeouts';
import { EdgeBackend, EdgeConfig, EdgeDatapath, EdgeFrontend, EdgeOpenOptions, loadAddon, ProgTestRunResult, repoRoot, SocketOpenOptions } from '../../lib/datapath/native';
import { EDGE_DROP_REASONS } from '../../lib/datapath/reasons';
import { defaultSnatPorts } from '../../lib/datapath/edge/snat_ports';
import { createLogger } from '../../lib/log';
import { BpfRoot, createBpfRoot } from '../helpers/bpf_root';
import { assertPrivileged } from '../helpers/preflight';
import { newName } from '../helpers/naming';
import { removeNamespace } from '../helpers/netns';
import { onExit } from '../helpers/exit_cleanup';
import { ip, run } from '../helpers/run';
import { CLIENT_MAC, NODE_MAC } from './packets';
import type { Protocol } from '../../lib/model/protocol';

export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_TX = 3;
export const XDP_REDIRECT = 4;
export const TC_ACT_OK = 0;

export const PROG = 'kpr_xdp_lb';
export const TC_INGRESS = 'kpr_tc_dsr_ingress';
export const TC_EGRESS = 'kpr_tc_dsr_egress';
export const NODE4 = '198.18.0.1';
export const NODE6 = 'fd00:198:18::1';
/** Backend nodes with a neighbour entry, and their MAC. */
export const PEER4 = '198.18.0.2';
export const PEER6 = 'fd00:198:18::2';
export const PEER_MAC = '02:00:00:00:b0:02';
/** A client on the link, with a neighbour entry: replies can be forwarded to it. */
export const LINK_CLIENT4 = '198.18.0.9';
export const LINK_CLIENT6 = 'fd00:198:18::9';
/** A frontend (LB IP) and a client beyond a router, of each family. */
export const VIP4 = '198.18.100.10';
export const VIP6 = 'fd00:198:18:100::10';
export const CLIENT4 = '198.19.5.5';
export const CLIENT6 = 'fd00:198:18:5::5';
/** A backend node on the link without a neighbour entry: the FIB cannot answer. */
export const UNRESOLVED4 = '198.18.0.3';

export interface EdgeFixture {
  dp: EdgeDatapath;
  netns: string;
  ifindex: number;
  destroy(): void;
}

/** The socket LB's sock_lb.o with small maps pinned under mapDir, as the datapath tests open it. */
export function socketOptions(mapDir: string): SocketOpenOptions {
  return { objectPath: path.join(repoRoot(), 'bpf', 'sock_lb.o'), mapDir, lbMapMax: 1024, revNatMapMax: 1024 };
}

export function edgeOptions(mapDir: string, overrides: Partial<EdgeOpenOptions> = {}): EdgeOpenOptions {
  return {
    objectPath: path.join(repoRoot(), 'bpf', 'xdp_lb.o'),
    tcObjectPath: path.join(repoRoot(), 'bpf', 'tc_dsr.o'),
    mapDir,
    frontendMax: 1024,
    backendMax: 1024,
    flowMax: 4096,
    affinityMax: 1024,
    sourceRangeMax: 1024,
    snatMax: 1024,
    fragmentMax: 1024,
    maglevTableSize: 251,
    ...overrides,
  };
}

/** A node of Linux's default local port range (32768-60999). */
export const SNAT_PORTS = defaultSnatPorts({ min: 32768, max: 60999 });

/** Whether port is one of SNAT_PORTS. */
export const inSnatPorts = (port: number) => SNAT_PORTS.some((r) => port >= r.min && port <= r.max);

/** The config an agent with default flags writes, for the given node. */
export function edgeConfig(node: Omit<EdgeConfig, 'timeouts' | 'snatPorts'>, overrides: Partial<EdgeConfig> = {}): EdgeConfig {
  return { timeouts: DEFAULT_FLOW_TIMEOUTS, snatPorts: SNAT_PORTS, ...node, ...overrides };
}

export function openBpfRoot(prefix: string): BpfRoot {
  const root = createBpfRoot(prefix);
  ensureBpffs(root.path, createLogger('error'));
  return root;
}

function createFibNamespace(): { name: string; ifindex: number } {
  const name = newName('xdp');
  ip('netns', 'add', name);
  try {
    ip('-n', name, 'link', 'add', 'nic0', 'address', NODE_MAC, 'type', 'veth', 'peer', 'name', 'nic0p');
    for (const dev of ['lo', 'nic0', 'nic0p']) ip('-n', name, 'link', 'set', dev, 'up');
    ip('-n', name, 'addr', 'add', `${NODE4}/24`, 'dev', 'nic0');
    ip('-n', name, '-6', 'addr', 'add', `${NODE6}/64`, 'dev', 'nic0', 'nodad');
    ip('-n', name, 'neigh', 'add', PEER4, 'lladdr', PEER_MAC, 'dev', 'nic0', 'nud', 'permanent');
    ip('-n', name, '-6', 'neigh', 'add', PEER6, 'lladdr', PEER_MAC, 'dev', 'nic0', 'nud', 'permanent');
    ip('-n', name, 'neigh', 'add', LINK_CLIENT4, 'lladdr', CLIENT_MAC, 'dev', 'nic0', 'nud', 'permanent');
    ip('-n', name, '-6', 'neigh', 'add', LINK_CLIENT6, 'lladdr', CLIENT_MAC, 'dev', 'nic0', 'nud', 'permanent');
    // bpf_fib_lookup answers only where the kernel itself would forward.
    run('ip', ['netns', 'exec', name, 'sysctl', '-q', '-w', 'net.ipv4.conf.all.forwarding=1', 'net.ipv6.conf.all.forwarding=1']);
    const links = JSON.parse(ip('-n', name, '-j', 'link', 'show', 'nic0')) as { ifindex: number }[];
    return { name, ifindex: links[0].ifindex };
  } catch (e) {
    removeNamespace(name);
    throw e;
  }
}

export function createEdgeFixture(root: BpfRoot, overrides: Partial<EdgeOpenOptions> = {}): EdgeFixture {
  const ns = createFibNamespace();
  const unregister = onExit(() => removeNamespace(ns.name));
  let dp: EdgeDatapath;
  try {
    dp = loadAddon().openEdgeDatapath(edgeOptions(path.join(root.path, 'kpr', 'maps'), overrides));
  } catch (e) {
    removeNamespace(ns.name);
    unregister();
    throw e;
  }
  dp.setConfig(edgeConfig({ nodeAddr4: NODE4, nodeAddr6: NODE6, hashSeed: 0 }));
  return {
    dp,
    netns: `/run/netns/${ns.name}`,
    ifindex: ns.ifindex,
    destroy() {
      dp.close();
      removeNamespace(ns.name);
      unregister();
    },
  };
}

/** What eachEdgeFixture() gives the tests of a block: the current test's. */
export interface EdgeFixtures {
  root: BpfRoot;
  fx: EdgeFixture;
}

/** A fresh bpf root and fixture for each test of the calling block, torn
 *  down after it whatever happened (either may be missing when setting up
 *  failed; the root must go regardless). */
export function eachEdgeFixture(prefix: string, overrides: Partial<EdgeOpenOptions> = {}): EdgeFixtures {
  const current = {} as EdgeFixtures;
  beforeAll(() => assertPrivileged());
  beforeEach(() => {
    current.fx = undefined as unknown as EdgeFixture;
    current.root = openBpfRoot(prefix);
    current.fx = createEdgeFixture(current.root, overrides);
  });
  afterEach(() => {
    try {
      current.fx?.destroy();
    } finally {
      current.root?.destroy();
    }
  });
  return current;
}

/** A frontend as the packet tests program it: DSR, Maglev, reject, one backend, unless extra says otherwise. */
export function frontend(addr: string, port: number, proto: Protocol, svcId: number, extra: Partial<EdgeFrontend> = {}): EdgeFrontend {
  return { addr, port, proto, svcId, count: 1, affinityTimeout: 0, sourceRanges: false, mode: 'dsr', algorithm: 'maglev', noBackend: 'reject', ...extra };
}

/** A Maglev table of m slots shared evenly by the backend ids. */
export function evenTable(m: number, ...ids: number[]): number[] {
  return Array.from({ length: m }, (_, i) => ids[i % ids.length]);
}

/** One service on fe.svcId with the given backends in an even Maglev table of m slots. */
export function programService(dp: EdgeDatapath, m: number, fe: EdgeFrontend, backends: Omit<EdgeBackend, 'svcId'>[]): void {
  dp.updateBackends(backends.map((b) => ({ ...b, svcId: fe.svcId })));
  if (backends.length) dp.setMaglevTable(fe.svcId, evenTable(m, ...backends.map((b) => b.id)));
  dp.updateFrontends([{ ...fe, count: backends.length }]);
}

/** Packets dropped (or answered) for the reason, on every CPU. */
export function dropCount(dp: EdgeDatapath, reason: string): number {
  return dp.readDrops()[EDGE_DROP_REASONS.indexOf(reason)];
}

/** A program's result for pkt: the action expected, and every byte as it came. */
export function expectUnchanged(r: ProgTestRunResult, pkt: Buffer, action: number): void {
  expect(r.retval).toBe(action);
  expect(r.packet.equals(pkt)).toBe(true);
}
