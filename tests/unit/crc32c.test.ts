// SCTP's CRC32c reference (tests/bpf/crc32c.ts) against the published
// vectors, the algebra the BPF side's incremental update rests on, and the
// committed tables it reads being what the reference generates.
import * as fs from 'fs';
import * as path from 'path';
import { crc32c, crc32cRaw, gf2MulMod, sctpChecksum, tablesHeader, xPow8n } from '../bpf/crc32c';
import { Rng } from '../bpf/fuzz_packets';
import { sctp } from '../bpf/packets';
import { repoRoot } from '../../lib/datapath/native';

describe('CRC32c', () => {
  // RFC 3720 B.4 (iSCSI uses SCTP's CRC32c), and the catalogue's check value.
  test.each([
    ['32 bytes of 0x00', Buffer.alloc(32, 0), 0x8a9136aa],
    ['32 bytes of 0xff', Buffer.alloc(32, 0xff), 0x62a8ab43],
    ['0x00..0x1f', Buffer.from(Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e],
    ['0x1f..0x00', Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c],
    ['"123456789"', Buffer.from('123456789'), 0xe3069283],
  ])('%s', (_name, bytes, want) => {
    expect(crc32c(bytes)).toBe(want);
  });

  // RFC 9260 gives no packet vectors; this INIT's checksum was computed once
  // with an independent table-driven CRC32c (Python), not with this code.
  test('an SCTP INIT, sport 5000 to port 80 and to port 8080, as the wire carries it', () => {
    expect(sctp(5000, 80).toString('hex')).toBe('1388005000000000' + '0137bbaf' + '01000014010203040000ffff000a000a01020304');
    expect(sctp(5000, 8080).subarray(8, 12).toString('hex')).toBe('4039964d');
  });

  test('x^(8n) mod P is what n zero bytes do to a register', () => {
    const head = Buffer.from([0x13, 0x88, 0x00, 0x50]);
    for (const n of [0, 1, 8, 255, 256, 257, 1496, 8996, 65531]) {
      expect(gf2MulMod(crc32cRaw(head, 0), xPow8n(n))).toBe(crc32cRaw(Buffer.concat([head, Buffer.alloc(n)]), 0));
    }
  });

  test("a port change moves the checksum by the change's raw CRC carried over the rest of the packet", () => {
    const rng = new Rng(7);
    for (const len of [12, 16, 100, 1500, 9000]) {
      const a = rng.bytes(len);
      a.writeUInt32LE(sctpChecksum(a), 8);
      const b = Buffer.from(a);
      b.writeUInt16BE(8080, 2);
      const delta = Buffer.from([0, 1, 2, 3].map((i) => a[i] ^ b[i]));
      const moved = gf2MulMod(crc32cRaw(delta, 0), xPow8n(len - 4));
      expect((a.readUInt32LE(8) ^ moved) >>> 0).toBe(sctpChecksum(b));
      if (a.readUInt16BE(2) !== 8080) expect(sctpChecksum(b)).not.toBe(a.readUInt32LE(8));
    }
  });

  test('the committed tables are what the reference generates', () => {
    const committed = fs.readFileSync(path.join(repoRoot(), 'bpf', 'include', 'kpr_crc32c_tables.h'), 'utf8');
    expect(committed).toBe(tablesHeader());
  });
});
