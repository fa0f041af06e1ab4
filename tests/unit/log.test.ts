import { createLogger, LogLevel } from '../../lib/log';

test.each<[LogLevel, string[]]>([
  ['error', ['error']],
  ['warn', ['error', 'warn']],
  ['info', ['error', 'warn', 'info']],
  ['debug', ['error', 'warn', 'info', 'debug']],
])('level %s writes %j', (level, want) => {
  const lines: string[] = [];
  const log = createLogger(level, (l) => lines.push(l));
  log.error('e');
  log.warn('w');
  log.info('i');
  log.debug('d');
  expect(lines.map((l) => l.split(' ')[1])).toEqual(want);
  for (const l of lines) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warn|info|debug) [ewid]\n$/);
});
