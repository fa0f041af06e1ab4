import { parseBackendsFile } from '../../lib/cli/maglev_backends';

test('one canonical addr:port a line; blanks, comments and CRLF are ignored; order and duplicates are kept', () => {
  expect(parseBackendsFile('# pool\r\n198.18.0.11:80\r\n\r\n  [FD00:198:18:0::11]:80  # v6\n198.18.0.11:80\n')).toEqual({
    backends: ['198.18.0.11:80', '[fd00:198:18::11]:80', '198.18.0.11:80'],
    errors: [],
  });
});

test('every bad line is named by its number', () => {
  expect(parseBackendsFile('198.18.0.11:80\nweb:80\n198.18.0.12\n198.18.0.13:0\n198.18.0.14:65536\nfd00:198:18::11:80\n').errors).toEqual([
    'line 2: "web:80" is not an IP:port address',
    'line 3: "198.18.0.12" has no port from 1 to 65535 (IPv6: [addr]:port)',
    'line 4: "198.18.0.13:0" has no port from 1 to 65535 (IPv6: [addr]:port)',
    'line 5: "198.18.0.14:65536" is not an IP:port address',
    'line 6: "fd00:198:18::11:80" has no port from 1 to 65535 (IPv6: [addr]:port)',
  ]);
});
