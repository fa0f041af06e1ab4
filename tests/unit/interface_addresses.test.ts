import * as os from 'os';
import { INTERFACE_POLL_MS, InterfaceAddressWatch, interfaceAddresses } from '../../lib/sources/interface_addresses';
import { MemoryLogger } from './logger';

const info = (address: string, more: Partial<os.NetworkInterfaceInfo> = {}) =>
  ({ address, netmask: '', family: address.includes(':') ? 'IPv6' : 'IPv4', mac: '', internal: false, cidr: null, ...more }) as os.NetworkInterfaceInfo;

describe("the node's interface addresses", () => {
  test('every address of every interface, loopback and link-local included, canonical, each once, IPv4 first and in order', () => {
    const interfaces = {
      lo: [info('127.0.0.1', { internal: true }), info('::1', { internal: true })],
      eth0: [info('198.18.0.77'), info('FD00:198:18::2'), info('fe80::1', { scopeid: 2 }), info('198.18.0.2')],
      pods: [info('198.18.10.1'), info('198.18.0.2'), info('::ffff:198.18.0.9')],
    };
    expect(interfaceAddresses(interfaces)).toEqual(['127.0.0.1', '198.18.0.2', '198.18.0.77', '198.18.10.1', '::1', 'fd00:198:18::2', 'fe80::1']);
  });

  test("read from this process's network namespace", () => {
    expect(interfaceAddresses()).toContain('127.0.0.1');
  });
});

describe('the interface address watch', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  test('hands over the first list at once, then each change within a poll, and says what came and went', () => {
    let now: string[] | Error = ['127.0.0.1', '198.18.0.2'];
    const lists: string[][] = [];
    const log = new MemoryLogger();
    const watch = new InterfaceAddressWatch((a) => lists.push(a), log, () => {
      if (now instanceof Error) throw now;
      return now;
    });
    watch.start();
    expect(lists).toEqual([['127.0.0.1', '198.18.0.2']]);
    jest.advanceTimersByTime(3 * INTERFACE_POLL_MS);
    expect(lists).toHaveLength(1);

    now = ['127.0.0.1', '198.18.0.2', '198.18.0.77'];
    jest.advanceTimersByTime(INTERFACE_POLL_MS);
    expect(lists).toEqual([['127.0.0.1', '198.18.0.2'], now]);
    now = ['127.0.0.1', '198.18.0.77'];
    jest.advanceTimersByTime(INTERFACE_POLL_MS);
    expect(lists[2]).toEqual(['127.0.0.1', '198.18.0.77']);
    expect(log.matching(/interfaces:/)).toEqual(['info interfaces: addresses 127.0.0.1, 198.18.0.2', 'info interfaces: 198.18.0.77 added', 'info interfaces: 198.18.0.2 removed']);

    // A failed read keeps the last list and is logged once, however often it fails.
    now = new Error('EMFILE');
    jest.advanceTimersByTime(3 * INTERFACE_POLL_MS);
    expect(lists).toHaveLength(3);
    expect(log.matching(/error/)).toEqual(['error interfaces: reading the addresses failed: EMFILE; keeping the last ones']);
    now = ['127.0.0.1', '198.18.0.77'];
    jest.advanceTimersByTime(INTERFACE_POLL_MS);
    expect(lists).toHaveLength(3);

    watch.stop();
    now = ['127.0.0.1'];
    jest.advanceTimersByTime(3 * INTERFACE_POLL_MS);
    expect(lists).toHaveLength(3);
  });
});
