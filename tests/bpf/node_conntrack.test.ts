// The edge LB leaves to the stack the packets of flows the node's conntrack
// translated before kpr (bpf/include/kpr_node_conntrack.h), packet by packet
// through BPF_PROG_TEST_RUN in the fixture's namespace. There, an old proxy's
// nftables rule DNATs the frontends to a local listener, and a process of the
// namespace opens real connections through it (TCP and UDP, both families)
// and one straight to a frontend on the node's own address, which conntrack
// tracks untranslated. Only a packet that does not open a connection, of a
// flow kpr's flow table does not know, whose conntrack entry has its
// destination translated, is passed untouched; everything else is balanced.
// So is an ICMP error about such a flow (a router's "too big" for the
// frontend's reply): conntrack relates it to the flow's own backend, where
// kpr's Maglev slot would name another.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EdgeFrontend } from '../../lib/datapath/native';
import { BpfRoot } from '../helpers/bpf_root';
import { LineProcess } from '../helpers/line_process';
import { assertPrivileged } from '../helpers/preflight';
import { ip, run } from '../helpers/run';
import * as P from './packets';
import { createEdgeFixture, EdgeFixture, NODE4, NODE6, openBpfRoot, PEER4, PEER6, PROG, VIP4, VIP6, XDP_PASS, XDP_TX } from './xdp_fixture';

const TCP_PORT = 80;
const UDP_PORT = 81;
/** A UDP frontend whose Maglev backend is on this node, for the ICMP errors. */
const ICMP_PORT = 83;
const LOCAL_BACKEND_PORT = 7777;
/** A frontend on the node's own address, reached without translation. */
const PLAIN_PORT = 9002;
const LISTEN = { tcp: 9000, udp: 9001 };
const FAMILIES = [
  { name: 'IPv4', node: NODE4, vip: VIP4, peer: PEER4, l3: 'ip' },
  { name: 'IPv6', node: NODE6, vip: VIP6, peer: PEER6, l3: 'ip6' },
] as const;

/** In the namespace: listeners, and connections held open through the old rule
 *  (TCP and UDP) and straight to the plain frontend; prints their local ports. */
const HOLDER = `
const net = require('net'), dgram = require('dgram');
const [node, vip, tcpPort, udpPort, plainPort, listenTcp, listenUdp, icmpPort] = process.argv.slice(1);
const fam = net.isIPv6(node) ? 'udp6' : 'udp4';
net.createServer(() => {}).listen(+listenTcp, node);
net.createServer(() => {}).listen(+plainPort, node);
const u = dgram.createSocket(fam); u.bind(+listenUdp, node);
u.on('listening', () => {
  const t = net.connect(+tcpPort, vip, () => {
    const p = net.connect(+plainPort, node, () => {
      const c = dgram.createSocket(fam);
      const i = dgram.createSocket(fam);
      c.connect(+udpPort, vip, () => c.send('x', () => i.connect(+icmpPort, vip, () => i.send('x', () =>
        console.log(JSON.stringify({ tcp: t.localPort, plain: p.localPort, udp: c.address().port, icmp: i.address().port }))))));
    });
  });
});
setTimeout(() => process.exit(0), 60000);
`;

describe('flows the node\'s conntrack translated before kpr', () => {
  let root: BpfRoot;
  let fx: EdgeFixture;
  let rulesDir: string;
  const holders: LineProcess[] = [];
  const ns = () => path.basename(fx.netns);
  const send = (frame: Buffer) => fx.dp.progTestRun(PROG, frame, 1, { netns: fx.netns, ifindex: fx.ifindex });

  function frontend(addr: string, port: number, proto: 'TCP' | 'UDP', svcId: number): EdgeFrontend {
    return { addr, port, proto, svcId, count: 1, affinityTimeout: 0, sourceRanges: false, mode: 'snat', algorithm: 'maglev', noBackend: 'reject' };
  }

  beforeAll(async () => {
    assertPrivileged();
    root = openBpfRoot('nodect');
    fx = createEdgeFixture(root, { maglevTableSize: 251 });
    rulesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-nodect-'));
    // Backends on another node: a balanced packet leaves by XDP_TX, never by XDP_PASS.
    fx.dp.updateBackends([
      ...FAMILIES.flatMap((f, i) => [1, 2, 3].map((s) => ({ id: i * 3 + s, addr: f.peer, port: 8080, svcId: i * 3 + s, nodeAddr: f.peer }))),
      // The ICMP frontends' backends: on this node, not where the old rule sends their flows.
      ...FAMILIES.map((f, i) => ({ id: 7 + i, addr: f.node, port: LOCAL_BACKEND_PORT, svcId: 7 + i })),
    ]);
    FAMILIES.forEach((f, i) => {
      for (const s of [1, 2, 3]) fx.dp.setMaglevTable(i * 3 + s, new Array(251).fill(i * 3 + s));
      fx.dp.setMaglevTable(7 + i, new Array(251).fill(7 + i));
    });
    fx.dp.updateFrontends(
      FAMILIES.flatMap((f, i) => [
        frontend(f.vip, TCP_PORT, 'TCP', i * 3 + 1),
        frontend(f.vip, UDP_PORT, 'UDP', i * 3 + 2),
        frontend(f.node, PLAIN_PORT, 'TCP', i * 3 + 3),
        frontend(f.vip, ICMP_PORT, 'UDP', 7 + i),
      ]),
    );
    // The old proxy: its DNAT of the frontends to a listener of the node.
    const rules = FAMILIES.flatMap((f) => {
      const to = (port: number) => (f.l3 === 'ip' ? `${f.node}:${port}` : `[${f.node}]:${port}`);
      return [
        `${f.l3} daddr ${f.vip} tcp dport ${TCP_PORT} dnat ${f.l3} to ${to(LISTEN.tcp)}`,
        `${f.l3} daddr ${f.vip} udp dport ${UDP_PORT} dnat ${f.l3} to ${to(LISTEN.udp)}`,
        `${f.l3} daddr ${f.vip} udp dport ${ICMP_PORT} dnat ${f.l3} to ${to(LISTEN.udp)}`,
      ];
    });
    const file = path.join(rulesDir, 'old.nft');
    fs.writeFileSync(file, `table inet kprt_old {\nchain output {\ntype nat hook output priority -100;\n${rules.join('\n')}\n}\n}\n`);
    run('ip', ['netns', 'exec', ns(), 'nft', '-f', file]);
    for (const f of FAMILIES) ip('-n', ns(), 'route', 'add', f.vip, 'dev', 'nic0');
  });

  afterAll(async () => {
    await Promise.all(holders.map((h) => h.stop('SIGKILL')));
    fx?.destroy();
    root?.destroy();
    if (rulesDir) fs.rmSync(rulesDir, { recursive: true, force: true });
  });

  test.each(FAMILIES.map((f) => [f.name, f] as const))('%s: passed only mid-flow, on a miss, with the destination translated', async (_, f) => {
    const holder = new LineProcess(`conntrack holder in ${ns()}`, 'ip', ['netns', 'exec', ns(), process.execPath, '-e', HOLDER, f.node, f.vip, String(TCP_PORT), String(UDP_PORT), String(PLAIN_PORT), String(LISTEN.tcp), String(LISTEN.udp), String(ICMP_PORT)]);
    holders.push(holder);
    const ports = JSON.parse(await holder.waitForLine('the held flows\' ports', (l) => l.startsWith('{'), 10_000)) as { tcp: number; plain: number; udp: number; icmp: number };
    const tcpTo = (dst: string, sport: number, dport: number, flags: number) => P.tcpFrame({ src: f.node, dst, sport, dport }, { flags });
    const ack = tcpTo(f.vip, ports.tcp, TCP_PORT, P.TCP_ACK);
    const verdicts = {
      ack: send(ack).retval,
      ackUntouched: send(ack).packet.equals(ack),
      pshAck: send(tcpTo(f.vip, ports.tcp, TCP_PORT, P.TCP_ACK | P.TCP_PSH)).retval,
      fin: send(tcpTo(f.vip, ports.tcp, TCP_PORT, P.TCP_ACK | P.TCP_FIN)).retval,
      udp: send(P.udpFrame({ src: f.node, dst: f.vip, sport: ports.udp, dport: UDP_PORT })).retval,
      // No conntrack entry: another client port.
      ackOtherPort: send(tcpTo(f.vip, ports.tcp + 1, TCP_PORT, P.TCP_ACK)).retval,
      udpOtherPort: send(P.udpFrame({ src: f.node, dst: f.vip, sport: ports.udp + 1, dport: UDP_PORT })).retval,
      // An entry without translation.
      ackUntranslated: send(tcpTo(f.node, ports.plain, PLAIN_PORT, P.TCP_ACK)).retval,
      // A SYN opens a connection: kpr's, and from then on the flow is in kpr's table.
      syn: send(tcpTo(f.vip, ports.tcp, TCP_PORT, P.TCP_SYN)).retval,
      ackAfterSyn: send(ack).retval,
    };
    expect(verdicts).toEqual({
      ack: XDP_PASS,
      ackUntouched: true,
      pshAck: XDP_PASS,
      fin: XDP_PASS,
      udp: XDP_PASS,
      ackOtherPort: XDP_TX,
      udpOtherPort: XDP_TX,
      ackUntranslated: XDP_TX,
      syn: XDP_TX,
      ackAfterSyn: XDP_TX,
    });
    // A router's "too big" for the frontend's reply to the client.
    const tooBig = (clientPort: number) => {
      const reply = P.udpFrame({ src: f.vip, dst: f.node, sport: ICMP_PORT, dport: clientPort });
      const [type, code] = f.name === 'IPv4' ? [3, 4] : [2, 0];
      return P.ethernet(P.NODE_MAC, P.CLIENT_MAC, f.name === 'IPv4' ? P.ETH_P_IP : P.ETH_P_IPV6, P.icmpError(f.peer, f.vip, type, code, P.quoteOf(reply), 1400));
    };
    // kpr's own flow on the ICMP frontend: its datagram balanced to the local backend.
    expect(send(P.udpFrame({ src: f.node, dst: f.vip, sport: ports.icmp + 1, dport: ICMP_PORT })).retval).toBe(XDP_PASS);
    const errors = {
      translated: tooBig(ports.icmp),
      kprs: tooBig(ports.icmp + 1),
      unknown: tooBig(ports.icmp + 2),
    };
    const outcome = (frame: Buffer) => {
      const r = send(frame);
      return { retval: r.retval, untouched: r.packet.equals(frame) };
    };
    expect({ translated: outcome(errors.translated), kprs: outcome(errors.kprs), unknown: outcome(errors.unknown) }).toEqual({
      // Left to conntrack, which relates it to the old rule's backend.
      translated: { retval: XDP_PASS, untouched: true },
      // Turned into the local backend's own error: the flow's, or the Maglev slot's.
      kprs: { retval: XDP_PASS, untouched: false },
      unknown: { retval: XDP_PASS, untouched: false },
    });

    const flowPorts = fx.dp.dumpFlows().filter((fl) => fl.client === f.node).map((fl) => fl.clientPort).sort((a, b) => a - b);
    // Only the balanced flows are kpr's.
    expect(flowPorts).toEqual([ports.tcp, ports.tcp + 1, ports.udp + 1, ports.plain, ports.icmp + 1].sort((a, b) => a - b));
  });
});
