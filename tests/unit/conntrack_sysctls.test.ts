import { applyConntrackSettings, ConntrackFiles, conntrackMax, KUBE_PROXY_CONNTRACK } from '../../lib/host/conntrack_sysctls';
import { MemoryLogger } from './logger';

const NF = '/proc/sys/net/netfilter';
const HASHSIZE = '/sys/module/nf_conntrack/parameters/hashsize';

/** Files as a node's: nf_conntrack loaded with the kernel's defaults, 4 CPUs; readOnly refuse writes (EACCES). */
function files(more: Record<string, string> = {}, readOnly: string[] = []): ConntrackFiles & { values: Map<string, string> } {
  const values = new Map(
    Object.entries({
      '/sys/devices/system/cpu/online': '0-3',
      [`${NF}/nf_conntrack_max`]: '65536',
      [HASHSIZE]: '16384',
      [`${NF}/nf_conntrack_tcp_timeout_established`]: '432000',
      [`${NF}/nf_conntrack_tcp_timeout_close_wait`]: '60',
      [`${NF}/nf_conntrack_tcp_be_liberal`]: '0',
      [`${NF}/nf_conntrack_udp_timeout`]: '30',
      [`${NF}/nf_conntrack_udp_timeout_stream`]: '120',
      ...more,
    }),
  );
  return {
    values,
    read: (f) => values.get(f),
    write: (f, v) => {
      if (readOnly.includes(f)) throw Object.assign(new Error(`EACCES: permission denied, open '${f}'`), { code: 'EACCES' });
      values.set(f, v);
    },
  };
}

describe("the node's conntrack settings, as kube-proxy applies them", () => {
  test.each([
    [{ maxPerCore: 32768, min: 131072 }, 4, 131072],
    [{ maxPerCore: 32768, min: 131072 }, 8, 262144],
    [{ maxPerCore: 32768, min: 131072 }, 64, 1_048_576], // capped
    [{ maxPerCore: 32768 }, 2, 65536],
    [{ maxPerCore: 0, min: 131072 }, 8, 0],
    [{}, 8, 0],
  ])('nf_conntrack_max for %j on %d CPUs: %d', (s, cpus, want) => {
    expect(conntrackMax(s, cpus)).toBe(want);
  });

  test("kube-proxy's defaults: the maximum and hash size raised, the TCP timeouts set, nothing else touched", () => {
    const f = files();
    const log = new MemoryLogger();
    expect(applyConntrackSettings(KUBE_PROXY_CONNTRACK, log, '/proc', f)).toEqual([
      `${NF}/nf_conntrack_max=131072`,
      `${HASHSIZE}=32768`,
      `${NF}/nf_conntrack_tcp_timeout_established=86400`,
      `${NF}/nf_conntrack_tcp_timeout_close_wait=3600`,
    ]);
    expect(f.values.get(`${NF}/nf_conntrack_udp_timeout`)).toBe('30');
    expect(f.values.get(`${NF}/nf_conntrack_tcp_be_liberal`)).toBe('0');
    expect(log.matching(/^info conntrack: set /)).toHaveLength(1);
    // Again: all in place, nothing written, nothing said.
    expect(applyConntrackSettings(KUBE_PROXY_CONNTRACK, log, '/proc', f)).toEqual([]);
    expect(log.lines).toHaveLength(1);
  });

  test('the maximum and hash size are only ever raised', () => {
    const f = files({ [`${NF}/nf_conntrack_max`]: '262144', [HASHSIZE]: '65536' });
    expect(applyConntrackSettings({ maxPerCore: 32768, min: 131072 }, new MemoryLogger(), '/proc', f)).toEqual([]);
    expect(f.values.get(`${NF}/nf_conntrack_max`)).toBe('262144');
  });

  test('through the node\'s procfs mounted elsewhere (--procfs), as in the chart\'s container', () => {
    const f = files(Object.fromEntries([`${NF}/nf_conntrack_max`, `${NF}/nf_conntrack_tcp_timeout_close_wait`].map((k) => [`/host${k}`, k.endsWith('max') ? '262144' : '60'])));
    expect(applyConntrackSettings({ tcpCloseWait: 3600 }, new MemoryLogger(), '/host/proc', f)).toEqual([`/host${NF}/nf_conntrack_tcp_timeout_close_wait=3600`]);
    expect(f.values.get(`${NF}/nf_conntrack_tcp_timeout_close_wait`)).toBe('60');
  });

  test('every setting given: be_liberal and the UDP timeouts too', () => {
    const f = files();
    applyConntrackSettings({ tcpBeLiberal: true, udp: 45, udpStream: 300, tcpCloseWait: 7200 }, new MemoryLogger(), '/proc', f);
    expect([`${NF}/nf_conntrack_tcp_be_liberal`, `${NF}/nf_conntrack_udp_timeout`, `${NF}/nf_conntrack_udp_timeout_stream`, `${NF}/nf_conntrack_tcp_timeout_close_wait`].map((k) => f.values.get(k))).toEqual(['1', '45', '300', '7200']);
  });

  test("in a node's own network namespace the host's settings are not writable: warned, the hash size left alone, the rest applied", () => {
    const f = files({}, [`${NF}/nf_conntrack_max`]);
    const log = new MemoryLogger();
    expect(applyConntrackSettings(KUBE_PROXY_CONNTRACK, log, '/proc', f)).toEqual([`${NF}/nf_conntrack_tcp_timeout_established=86400`, `${NF}/nf_conntrack_tcp_timeout_close_wait=3600`]);
    expect(log.matching(/^warn conntrack: \/proc\/sys\/net\/netfilter\/nf_conntrack_max left at 65536, not 131072: the host sets it \(not writable in this network namespace\)$/)).toHaveLength(1);
    expect(f.values.get(HASHSIZE)).toBe('16384');
    expect(log.matching(/^warn /)).toHaveLength(1);
  });

  test('without nf_conntrack loaded there is nothing to set, said once at info', () => {
    const log = new MemoryLogger();
    const f: ConntrackFiles = { read: () => undefined, write: () => fail('written') };
    expect(applyConntrackSettings(KUBE_PROXY_CONNTRACK, log, '/proc', f)).toEqual([]);
    expect(log.lines).toEqual(['info conntrack: nf_conntrack is not loaded here: no conntrack settings to apply']);
    expect(applyConntrackSettings({}, new MemoryLogger(), '/proc', f)).toEqual([]);
  });
});
