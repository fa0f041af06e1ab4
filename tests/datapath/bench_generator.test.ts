// The edge packet-rate benchmark's tools (tests/bench/edge_pps_tools.ts,
// xdpgen.c, tests/native/bench_xdp_*.c) on real veths, since every figure of
// that benchmark rests on them: the live-frames generator sends as many
// distinct flows as asked, each frame intact though the run recycles pages the
// node's forwarding has rewritten (a generator that did not rewrite the whole
// frame lost all but the first frames: the node saw other MAC addresses); the
// counter on the backend's device sees every frame sent but those a veth
// counts as dropped; the redirect-only floor forwards without the node's
// stack and gives the device back its former program when it stops. Some
// kernels refuse live frames by policy (EPERM, with root and every BPF
// capability): there the tools are checked with the same frames from a
// packet socket, and the benchmark stops at its first round, naming the refusal.
import { CLIENT_SOURCES } from '../bench/flow_rate_topology';
import { macAddress, passXdp } from '../bench/datapath_topology';
import { arrivedSince, LiveFramesRefused, send, Sent, startCounter, startRedirect } from '../bench/edge_pps_tools';
import { onExit } from '../helpers/exit_cleanup';
import { newName } from '../helpers/naming';
import { links, removeNamespace } from '../helpers/netns';
import { assertPrivileged } from '../helpers/preflight';
import { ip, run } from '../helpers/run';

jest.setTimeout(120_000);

const ADDRS = 4;
const PORTS = 16;
const BACKEND = '198.18.11.2';
const PORT = 8080;
const SECONDS = 1;
/** Far below what one CPU forwards in a second (about a million frames from live frames, 0.6 million from a packet socket, here). */
const AT_LEAST = 50_000;

const ns = { client: newName('gen-client'), node: newName('gen-node'), backend: newName('gen-backend') };
/** The veths that hand frames on towards the backend (generator -> node,
 *  node -> backend). A veth drops a frame when its peer's ring is full, which
 *  a busy machine's deferred softirq allows (10534 of 3145728 and 21938 of
 *  1048576 in two CI runs; 18102 of 524288 here with three runs at once), and
 *  counts it as its own TX dropped. A frame the node refuses (the broken
 *  generator's, with other MAC addresses) is counted by neither. */
const handingOn = [[ns.client, 'eth0'], [ns.node, 'be']];
const unregister = onExit(() => Object.values(ns).forEach(removeNamespace));

/** No packets of the namespace's own on its links: a veth counts the drop of
 *  any frame, so an IPv6 router solicitation or MLD report (sent 1, 2, 5 and
 *  11 s after a link comes up) lost in a full ring was counted as a generator
 *  frame's drop (arrived + dropped = sent + 1 in one CI run). */
function quiet(n: string): void {
  run('ip', ['netns', 'exec', n, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
}

function pair(a: string, aDev: string, aAddr: string, b: string, bDev: string, bAddr: string): void {
  ip('-n', a, 'link', 'add', aDev, 'type', 'veth', 'peer', 'name', bDev, 'netns', b);
  for (const [n, dev, addr] of [[a, aDev, aAddr], [b, bDev, bAddr]]) {
    ip('-n', n, 'addr', 'add', `${addr}/30`, 'dev', dev);
    ip('-n', n, 'link', 'set', dev, 'up');
  }
}

/** The node's IP ForwDatagrams (/proc/net/snmp: a line of names, then one of values). */
function forwarded(): number {
  const [names, values] = run('ip', ['netns', 'exec', ns.node, 'cat', '/proc/net/snmp']).split('\n').filter((l) => l.startsWith('Ip: ')).map((l) => l.split(' '));
  return Number(values[names.indexOf('ForwDatagrams')]);
}
/** Flows the node's conntrack holds from the generator's sources. */
const tracked = () => run('ip', ['netns', 'exec', ns.node, 'cat', '/proc/net/nf_conntrack']).split('\n').filter((l) => l.includes(`src=${CLIENT_SOURCES.first.replace(/\d+$/, '')}`)).length;
const flows = { firstSource: CLIENT_SOURCES.first, addrs: ADDRS, ports: PORTS };

/** TX dropped of the veths that hand frames on. */
function vethDrops(): number {
  return handingOn.reduce((sum, [n, dev]) => sum + links(n, dev)[0].txDropped, 0);
}

/** Every frame sent arrives or is counted as a veth's drop; none twice. */
function expectArrived(arrived: number, dropped: number, sent: number): void {
  expect(arrived).toBeGreaterThan(AT_LEAST);
  expect(arrived + dropped).toBe(sent);
}

beforeAll(() => {
  assertPrivileged();
  for (const n of Object.values(ns)) {
    ip('netns', 'add', n);
    quiet(n);
    ip('-n', n, 'link', 'set', 'lo', 'up');
  }
  pair(ns.client, 'eth0', '198.18.10.1', ns.node, 'ext', '198.18.10.2');
  pair(ns.node, 'be', '198.18.11.1', ns.backend, 'n0', BACKEND);
  ip('-n', ns.node, 'route', 'add', CLIENT_SOURCES.net, 'via', '198.18.10.1');
  run('ip', ['netns', 'exec', ns.node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  // Conntrack in the node, to count the flows the generator made.
  run('ip', ['netns', 'exec', ns.node, 'nft', 'add table ip gen; add chain ip gen seen { type filter hook forward priority 0; }; add rule ip gen seen ct state new counter']);
  passXdp(ns.client, 'eth0');
  passXdp(ns.node, 'ext');
  passXdp(ns.node, 'be');
  // The node knows the backend's MAC before the frames come, without an ARP
  // exchange of its own (see quiet()).
  ip('-n', ns.node, 'neigh', 'replace', BACKEND, 'lladdr', macAddress(ns.backend, 'n0'), 'dev', 'be', 'nud', 'permanent');
});

afterAll(() => {
  Object.values(ns).forEach(removeNamespace);
  unregister();
});

test('through the node\'s forwarding: every frame arrives or a veth counts it dropped, from ADDRS x PORTS flows', async () => {
  const counter = await startCounter(ns.backend, 'n0');
  try {
    const [before, droppedBefore] = [await counter.packets(), vethDrops()];
    const out = await send(ns.client, 0, flows, { mac: macAddress(ns.node, 'ext'), addr: BACKEND, port: PORT }, SECONDS, 'any');
    expectArrived(await arrivedSince(counter, before), vethDrops() - droppedBefore, out.sent);
    expect(tracked()).toBe(ADDRS * PORTS);
  } finally {
    await counter.stop();
  }
  expect(ip('-n', ns.backend, 'link', 'show', 'n0')).not.toContain('prog/xdp');
});

test('the redirect-only floor: every frame arrives or a veth counts it dropped, none through the node\'s stack; the former program is back after', async () => {
  const counter = await startCounter(ns.backend, 'n0');
  const redirect = await startRedirect(ns.node, 'ext', 'be', macAddress(ns.backend, 'n0'));
  try {
    expect(ip('-n', ns.node, 'link', 'show', 'ext')).toContain('bench_xdp_redir');
    const [before, forwardedBefore, droppedBefore] = [await counter.packets(), forwarded(), vethDrops()];
    const out = await send(ns.client, 0, flows, { mac: macAddress(ns.node, 'ext'), addr: BACKEND, port: PORT }, SECONDS, 'any');
    expectArrived(await arrivedSince(counter, before), vethDrops() - droppedBefore, out.sent);
    expect(forwarded()).toBe(forwardedBefore);
  } finally {
    await redirect.stop();
    await counter.stop();
  }
  expect(ip('-n', ns.node, 'link', 'show', 'ext')).toMatch(/prog\/xdp id \d+ name xdp_pass/);
});

test('the generator says which it was: live frames wherever the kernel takes them, a packet socket only where it refuses them and that was allowed', async () => {
  const to = { mac: macAddress(ns.node, 'ext'), addr: BACKEND, port: PORT };
  const liveOnly = await send(ns.client, 0, flows, to, SECONDS, 'live-frames').catch((e: Error) => e);
  const any: Sent = await send(ns.client, 0, flows, to, SECONDS, 'any');
  if (liveOnly instanceof Error) {
    expect(liveOnly).toBeInstanceOf(LiveFramesRefused);
    expect(liveOnly.message).toMatch(/refuses BPF_PROG_TEST_RUN in live-frames mode.*: (Operation not permitted|Invalid argument|Operation not supported)$/);
    expect(any.generator).toBe('packet-socket');
  } else {
    expect(liveOnly.generator).toBe('live-frames');
    expect(any.generator).toBe('live-frames');
  }
  expect(any.sent).toBeGreaterThan(AT_LEAST);
});
