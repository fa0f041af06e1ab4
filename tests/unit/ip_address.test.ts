import { canonicalIp, formatAddrPort, ipFamily, ipFromValue, ipSortKey, ipValue } from '../../lib/model/ip_address';

describe('canonicalIp', () => {
  test.each([
    ['198.18.0.1', '198.18.0.1'],
    ['198.19.255.255', '198.19.255.255'],
    ['fd00:198:18::1', 'fd00:198:18::1'],
    ['FD00:198:18:0:0:0:0:1', 'fd00:198:18::1'],
    ['fd00:0198:0018::0001', 'fd00:198:18::1'],
    ['fd00:198:18:0:1:0:0:0', 'fd00:198:18:0:1::'],
    ['fd00:0:0:1:0:0:0:1', 'fd00:0:0:1::1'],
    ['fd00:0:0:1:1:0:0:1', 'fd00::1:1:0:0:1'],
    ['fd00:198:18:1:1:1:1:0', 'fd00:198:18:1:1:1:1:0'],
    ['fd00:198:0:1:1:1:1:1', 'fd00:198:0:1:1:1:1:1'],
    ['fd00:198:18::c612:1', 'fd00:198:18::c612:1'],
    ['fd00:198:18::198.18.0.1', 'fd00:198:18::c612:1'],
    ['::', '::'],
    ['::1', '::1'],
  ])('%s -> %s', (input, want) => {
    expect(canonicalIp(input)).toBe(want);
  });

  test.each([
    '',
    '198.18.0',
    '198.18.0.256',
    '198.018.0.1',
    'fd00:198:18::1::2',
    'fd00:198:18:1:1:1:1:1:1',
    'fd00:198:18:1:1:1:1',
    'fd00::1%eth0',
    'fd00:198:18::12345',
    ':fd00::1',
    'fd00::1:',
    '::ffff:198.18.0.1',
    'fd00::198.18.0',
    ':::',
    '::1:',
    'fd00:::1',
    'fd00::g',
    'fd00::1.2.3.4.5',
    'fd00:198:18::1 ',
    'None',
  ])('%j is refused', (input) => {
    expect(canonicalIp(input)).toBeUndefined();
  });
});

test('family and formatting', () => {
  expect(ipFamily('198.18.0.1')).toBe('IPv4');
  expect(ipFamily('fd00:198:18::1')).toBe('IPv6');
  expect(formatAddrPort('198.18.0.1', 80)).toBe('198.18.0.1:80');
  expect(formatAddrPort('fd00:198:18::1', 80)).toBe('[fd00:198:18::1]:80');
});

test('ipSortKey orders numerically, IPv4 first', () => {
  const addrs = ['fd00:198:18::10', '198.18.0.10', 'fd00:198:18::9', '198.18.0.9', '198.19.0.1'];
  expect([...addrs].sort((a, b) => (ipSortKey(a) < ipSortKey(b) ? -1 : 1))).toEqual([
    '198.18.0.9',
    '198.18.0.10',
    '198.19.0.1',
    'fd00:198:18::9',
    'fd00:198:18::10',
  ]);
});

test.each(['198.18.0.1', '198.19.255.255', 'fd00:198:18::1', 'fd00:198:18:1:2:3:4:5', 'fd00::'])('ipValue and ipFromValue round-trip %s', (ip) => {
  expect(ipFromValue(ipValue(ip), ipFamily(ip))).toBe(ip);
});
