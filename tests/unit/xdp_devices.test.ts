import * as os from 'os';
import { attachDevices, attachMode } from '../../lib/datapath/edge/attach';
import { detectDevices } from '../../lib/host/devices';
import { MemoryLogger } from './logger';

const info = (address: string, family: 'IPv4' | 'IPv6', internal = false): os.NetworkInterfaceInfo =>
  ({ address, family, internal, netmask: '', mac: '00:00:00:00:00:00', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as os.NetworkInterfaceInfo;

const INTERFACES = {
  lo: [info('127.0.0.1', 'IPv4', true), info('::1', 'IPv6', true)],
  eth1: [info('198.18.0.1', 'IPv4')],
  eth0: [info('198.19.0.1', 'IPv4'), info('fd00:198:18:0:0::1', 'IPv6')],
  docker0: [info('198.18.99.1', 'IPv4')],
};

describe('XDP devices', () => {
  test.each<[string, string[], string[]]>([
    ['the interfaces holding the node addresses, in name order', ['198.18.0.1', 'fd00:198:18::1'], ['eth0', 'eth1']],
    ['IPv6 compared canonically', ['fd00:198:18::1'], ['eth0']],
    ['never loopback', ['127.0.0.1'], []],
    ['no node address yet: none', [], []],
  ])('%s', (_name, addresses, want) => {
    expect(detectDevices(addresses, INTERFACES)).toEqual(want);
  });

  test('--bpf-lb-acceleration to attach modes', () => {
    expect(['native', 'generic', 'best-effort', 'disabled'].map((a) => attachMode(a as never))).toEqual(['native', 'generic', 'auto', undefined]);
  });

  test('each device attached on its own; a failure is logged and leaves the others', () => {
    const log = new MemoryLogger();
    const dp = {
      attachXdp: (dev: string) => {
        if (dev === 'eth1') throw new Error('Operation not supported');
        return { mode: 'generic' as const, action: 'created' as const };
      },
      attachTc: () => ({ action: 'replaced' as const }),
    };
    expect(attachDevices(dp, ['eth0', 'eth1'], 'auto', log)).toEqual(['eth0']);
    expect(log.lines).toEqual([
      'info xdp: edge LB created on eth0 (generic, chosen automatically); tc replaced',
      'error xdp: attaching the edge LB to eth1 (auto) failed: Operation not supported',
    ]);
  });
});
