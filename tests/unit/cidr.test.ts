import { canonicalCidr, cidrContains, cidrFamily, cidrWithin } from '../../lib/model/cidr';

describe('canonicalCidr', () => {
  test.each<[string, string | undefined]>([
    ['198.18.0.0/15', '198.18.0.0/15'],
    ['198.18.7.1/16', '198.18.0.0/16'],
    ['198.19.255.255/32', '198.19.255.255/32'],
    ['198.18.0.1/0', '0.0.0.0/0'],
    ['fd00:198:18::/48', 'fd00:198:18::/48'],
    ['FD00:0198:0018:0:0:0:0:1/48', 'fd00:198:18::/48'],
    ['fd00:198:18:1:2::1/64', 'fd00:198:18:1::/64'],
    ['fd00:198:18::1/128', 'fd00:198:18::1/128'],
    ['198.18.0.0/33', undefined],
    ['fd00:198:18::/129', undefined],
    ['198.18.0.0', undefined],
    ['198.18.0.0/', undefined],
    ['198.18.0.0/-1', undefined],
    ['198.18.0.0/1.5', undefined],
    ['198.18.0/16', undefined],
    ['::ffff:198.18.0.1/128', undefined],
    ['', undefined],
  ])('%j -> %j', (text, want) => {
    expect(canonicalCidr(text)).toBe(want);
  });
});

test('cidrFamily', () => {
  expect(cidrFamily('198.18.0.0/15')).toBe('IPv4');
  expect(cidrFamily('fd00:198:18::/48')).toBe('IPv6');
});

describe('cidrContains', () => {
  test.each<[string, string, boolean]>([
    ['198.18.0.0/15', '198.18.0.1', true],
    ['198.18.0.0/15', '198.19.255.255', true],
    ['198.18.0.0/16', '198.19.0.1', false],
    ['198.18.4.0/22', '198.18.7.255', true],
    ['198.18.4.0/22', '198.18.8.0', false],
    ['198.18.0.1/32', '198.18.0.1', true],
    ['198.18.0.1/32', '198.18.0.2', false],
    ['0.0.0.0/0', '198.18.0.1', true],
    ['fd00:198:18::/48', 'fd00:198:18:ffff::1', true],
    ['fd00:198:18::/48', 'fd00:198:19::1', false],
    ['fd00:198:18:1::/64', 'fd00:198:18:1:ffff:ffff:ffff:ffff', true],
    ['198.18.0.0/15', 'fd00:198:18::1', false],
    ['fd00:198:18::/48', '198.18.0.1', false],
  ])('%s holds %s: %s', (cidr, ip, want) => {
    expect(cidrContains(cidr, ip)).toBe(want);
  });

  test('an invalid CIDR is a bug, not a miss', () => {
    expect(() => cidrContains('198.18.0.0/40', '198.18.0.1')).toThrow('"198.18.0.0/40" is not a CIDR');
  });
});

describe('cidrWithin', () => {
  test.each<[string, string, boolean]>([
    ['127.0.0.1/32', '127.0.0.0/8', true],
    ['127.0.0.0/8', '127.0.0.0/8', true],
    ['127.0.0.0/7', '127.0.0.0/8', false],
    ['126.0.0.0/8', '127.0.0.0/8', false],
    ['::1/128', '::1/128', true],
    ['::/127', '::1/128', false],
    ['fe80::/64', 'fe80::/10', true],
    ['127.0.0.1/32', '::/0', false],
  ])('%s in %s: %s', (inner, outer, want) => {
    expect(cidrWithin(inner, outer)).toBe(want);
  });
});
