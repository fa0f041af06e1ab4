// The backends file of `kpr maglev compute`: one "addr:port" a line
// ("198.18.0.11:8080", "[fd00:198:18::11]:8080"), blank lines and # comments
// ignored. Names come out canonical, so that two spellings of one address are
// one backend and every node hashes the same bytes.
import { parseBindAddress } from '../bind_address';
import { formatAddrPort } from '../model/ip_address';

export interface BackendsFile {
  /** Canonical "addr:port", in file order. */
  backends: string[];
  /** "line N: why", one per bad line. */
  errors: string[];
}

export function parseBackendsFile(text: string): BackendsFile {
  const backends: string[] = [];
  const errors: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    try {
      // Default port 0 = none: a bare address or port 0 comes back undefined.
      const addr = parseBindAddress(line, 0);
      if (addr === undefined) throw new Error(`${JSON.stringify(line)} has no port from 1 to 65535 (IPv6: [addr]:port)`);
      backends.push(formatAddrPort(addr.host, addr.port));
    } catch (e) {
      errors.push(`line ${i + 1}: ${(e as Error).message}`);
    }
  });
  return { backends, errors };
}
