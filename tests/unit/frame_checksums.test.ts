// The packet fuzzer's checksum verifier (tests/bpf/checksums.ts) must see a
// broken checksum at every layer, or the fuzz test could pass blind.
import { checksumFaults, sealChecksums, walkFrame } from '../bpf/checksums';
import * as P from '../bpf/packets';

const C4 = '198.19.5.5';
const S4 = '198.18.100.10';
const C6 = 'fd00:198:18:5::5';
const S6 = 'fd00:198:18:100::10';

function icmpEcho(v6: boolean): Buffer {
  const msg = Buffer.from([v6 ? 128 : 8, 0, 0, 0, 0, 1, 0, 1, 0x6b, 0x70, 0x72]);
  const ip = v6 ? P.ipv6({ src: C6, dst: S6, nextHeader: 58, payload: msg }) : P.ipv4({ src: C4, dst: S4, proto: 1, payload: msg });
  const frame = P.ethernet(P.NODE_MAC, P.CLIENT_MAC, v6 ? P.ETH_P_IPV6 : P.ETH_P_IP, ip);
  sealChecksums(frame);
  return frame;
}

const inTunnel = (inner: Buffer, src: string, dst: string, fe: string) =>
  Buffer.concat([inner.subarray(0, P.ETH_HLEN), P.dsrTunnel(inner.subarray(P.ETH_HLEN), src, dst, { addr: fe, port: 80 })]);

const FRAMES: Record<string, () => Buffer> = {
  'IPv4 TCP with options': () => P.tcpFrame({ src: C4, dst: S4, sport: 1, dport: 80 }, { payload: Buffer.from('odd') }, { options: Buffer.from([0x94, 4, 0, 0]) }),
  'IPv6 UDP': () => P.udpFrame({ src: C6, dst: S6, sport: 1, dport: 53 }),
  'ICMP echo': () => icmpEcho(false),
  'ICMPv6 echo': () => icmpEcho(true),
  'TCP in kpr IPIP in IPIP': () => inTunnel(inTunnel(P.tcpFrame({ src: C4, dst: S4, sport: 1, dport: 80 }), '198.18.0.2', '198.18.0.1', S4), '198.18.0.3', '198.18.0.2', S4),
  'UDP in kpr IP6IP6': () => inTunnel(P.udpFrame({ src: C6, dst: S6, sport: 1, dport: 53 }), 'fd00:198:18::2', 'fd00:198:18::1', S6),
};

describe('frame checksum verifier', () => {
  test.each(Object.keys(FRAMES))('%s: verifies as built; each checksum broken is found, and sealing mends it', (name) => {
    const frame = FRAMES[name]();
    expect(checksumFaults(frame)).toEqual([]);
    const sites = walkFrame(frame).sites;
    expect(sites.length).toBeGreaterThan(0);
    for (const site of sites) {
      const broken = Buffer.from(frame);
      broken[site.field] ^= 0x40; // no other checksum covers it
      expect(checksumFaults(broken)).toEqual([expect.stringContaining(site.layer)]);
      sealChecksums(broken);
      expect(checksumFaults(broken)).toEqual([]);
    }
  });

  test('the inner headers of both tunnels are reached', () => {
    expect(walkFrame(FRAMES['TCP in kpr IPIP in IPIP']()).sites.map((s) => `${s.depth} ${s.layer}`)).toEqual(['0 IPv4 header', '1 IPv4 header', '2 IPv4 header', '2 TCP']);
    expect(walkFrame(FRAMES['UDP in kpr IP6IP6']()).sites.map((s) => `${s.depth} ${s.layer}`)).toEqual(['1 UDP']);
  });

  describe('ICMP errors: the quote is walked too', () => {
    const udp4 = () => P.udpFrame({ src: S4, dst: C4, sport: 53, dport: 1 }, Buffer.from('an answer'));
    const tcp6 = () => P.tcpFrame({ src: S6, dst: C6, sport: 80, dport: 1 }, { payload: Buffer.alloc(600, 1) });
    const error = (src: string, dst: string, type: number, quoted: Buffer) =>
      P.ethernet(P.NODE_MAC, P.CLIENT_MAC, src.includes(':') ? P.ETH_P_IPV6 : P.ETH_P_IP, P.icmpError(src, dst, type, 0, quoted));
    const layers = (frame: Buffer) => walkFrame(frame).sites.map((s) => `${s.depth} ${s.layer}`);

    test("a whole quote: its IPv4 header and its UDP checksum, before the ICMP checksum that covers them", () => {
      const frame = error('198.18.0.9', S4, 3, P.quoteOf(udp4()));
      expect(layers(frame)).toEqual(['0 IPv4 header', '1 IPv4 header', '1 UDP', '0 ICMP']);
      expect(checksumFaults(frame)).toEqual([]);
      for (const site of walkFrame(frame).sites.filter((s) => s.depth === 1)) {
        const broken = Buffer.from(frame);
        broken[site.field] ^= 0x40;
        expect(checksumFaults(broken)).toEqual([expect.stringContaining(`inner(1) ${site.layer}`), expect.stringContaining('ICMP')]);
        sealChecksums(broken);
        expect(checksumFaults(broken)).toEqual([]);
      }
    });

    test('a quote cut short is no fault, and its L4 checksum is not judged; an ICMP echo has no quote', () => {
      const cut = error('fd00:198:18::9', S6, 2, P.quoteOf(tcp6(), 548));
      expect(layers(cut)).toEqual(['0 ICMPv6']);
      expect(checksumFaults(cut)).toEqual([]);
      const header8 = error('198.18.0.9', S4, 11, P.quoteOf(udp4(), 20 + 8));
      expect(layers(header8)).toEqual(['0 IPv4 header', '1 IPv4 header', '0 ICMP']);
      expect(checksumFaults(header8)).toEqual([]);
      expect(layers(icmpEcho(false))).toEqual(['0 IPv4 header', '0 ICMP']);
    });
  });

  test('UDP without checksum: none over IPv4 (RFC 768), a fault over IPv6 (RFC 8200 8.1)', () => {
    expect(checksumFaults(P.udpFrame({ src: C4, dst: S4, sport: 1, dport: 53 }, Buffer.from('x'), true))).toEqual([]);
    const v6 = P.udpFrame({ src: C6, dst: S6, sport: 1, dport: 53 });
    v6.writeUInt16BE(0, P.ETH_HLEN + 40 + 6);
    expect(checksumFaults(v6)).toEqual([expect.stringContaining('UDP')]);
  });

  test('lengths that claim more than the frame holds are faults', () => {
    const v4 = P.tcpFrame({ src: C4, dst: S4, sport: 1, dport: 80 });
    v4.writeUInt16BE(v4.length, P.ETH_HLEN + 2);
    sealChecksums(v4);
    expect(checksumFaults(v4)).toEqual([expect.stringContaining('total length')]);
    const v6 = P.udpFrame({ src: C6, dst: S6, sport: 1, dport: 53 });
    expect(checksumFaults(v6.subarray(0, v6.length - 1))).toEqual([expect.stringContaining('payload length')]);
  });
});
