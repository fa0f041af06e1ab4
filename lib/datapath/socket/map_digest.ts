// What a full sync asks of the socket LB's maps: do they still hold exactly
// the state the agent last wrote? The addon digests each map as it walks it
// (native/src/map_digest.h) and the agent digests its state the same way,
// keeping the digest up to date as plans change the state (plan_index.ts),
// so that neither the state is handed to the addon (at 100k services, 2M
// objects converted per full sync) nor the maps copied out. Each entry is
// hashed on its own (MurmurHash3's 32-bit body, two lanes with different
// seeds) over its fields, addresses as canonical text; a map's digest is the
// entry count and each lane's sum over entries, so entries can be taken out
// as well as added. Both sides must feed the same words in the same order.
import { Protocol } from '../../model/protocol';
import { Backend, FrontendKey, ServiceSlot } from '../native';
import { forEachSlot, SlotLayout } from './slot_layout';

/** IP protocol numbers, as the maps hold them (kpr_consts.h). */
const PROTO_NUMBER: Record<Protocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };
const SEED_A = 0x6b707231;
const SEED_B = 0x9747b28c;

function mix(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function final(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

class EntryHash {
  constructor(
    private a = SEED_A,
    private b = SEED_B,
  ) {}

  word(w: number): this {
    this.a = mix(this.a, w);
    this.b = mix(this.b, w);
    return this;
  }

  /** Length first, so that ("ab", "c") and ("a", "bc") hash apart. */
  text(s: string): this {
    this.word(s.length);
    for (let i = 0; i < s.length; i++) this.word(s.charCodeAt(i));
    return this;
  }

  /** A copy to go on from: the words of a frontend, shared by its slots. */
  copy(): EntryHash {
    return new EntryHash(this.a, this.b);
  }

  get finalA(): number {
    return final(this.a);
  }

  get finalB(): number {
    return final(this.b);
  }
}

export class MapDigest {
  private entries = 0;
  private a = 0;
  private b = 0;

  /** Counts h in (sign 1) or out (sign -1). */
  count(h: EntryHash, sign: 1 | -1): void {
    this.entries += sign;
    this.a = (this.a + sign * h.finalA) >>> 0;
    this.b = (this.b + sign * h.finalB) >>> 0;
  }

  /** "entries:lane a:lane b" in hex, as the addon writes it. */
  get text(): string {
    return `${this.entries.toString(16)}:${this.a.toString(16)}:${this.b.toString(16)}`;
  }
}

/** The words of a service map key up to its slot. */
const frontendHash = (addr: string, port: number, proto: Protocol) => new EntryHash().text(addr).word(port).word(PROTO_NUMBER[proto]);

const slotHash = (frontend: EntryHash, slot: number, svcId: number, backendId: number, count: number, affinityTimeout: number) =>
  frontend.copy().word(slot).word(svcId).word(backendId).word(count).word(affinityTimeout);

const entryHash = (frontend: EntryHash, s: ServiceSlot) => slotHash(frontend, s.slot, s.svcId, s.backendId, s.count, s.affinityTimeout);

/** Counts f's master and slots into d, or out of it; the key's words are
 *  hashed once for all of them. */
export function countFrontend(d: MapDigest, f: SlotLayout & FrontendKey, sign: 1 | -1): void {
  const fh = frontendHash(f.addr, f.port, f.proto);
  if (f.master) d.count(entryHash(fh, f.master), sign);
  forEachSlot(f, (slot, svcId, backendId, count, affinityTimeout) => d.count(slotHash(fh, slot, svcId, backendId, count, affinityTimeout), sign));
}

export function countBackend(d: MapDigest, b: Backend, sign: 1 | -1): void {
  d.count(new EntryHash().word(b.id).text(b.addr).word(b.port).word(b.svcId), sign);
}

/** kpr_services holding exactly these slots would have this digest. */
export function slotsDigest(slots: Iterable<ServiceSlot>): string {
  const d = new MapDigest();
  for (const s of slots) d.count(entryHash(frontendHash(s.addr, s.port, s.proto), s), 1);
  return d.text;
}

/** kpr_backends holding exactly these backends would have this digest. */
export function backendsDigest(backends: Iterable<Backend>): string {
  const d = new MapDigest();
  for (const b of backends) countBackend(d, b, 1);
  return d.text;
}

/** kpr_sock_service_ranges holding exactly these canonical CIDRs would have this digest. */
export function rangesDigest(cidrs: Iterable<string>): string {
  const d = new MapDigest();
  for (const c of cidrs) d.count(new EntryHash().text(c), 1);
  return d.text;
}
