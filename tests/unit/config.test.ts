import { commandHelp, parseFlags, RUN, runConfig, servicesConfig, UsageError } from '../../lib/config';

describe('kpr run flags', () => {
  test('defaults', () => {
    expect(runConfig(['--manifests', '/etc/kpr'])).toEqual({
      manifests: '/etc/kpr',
      bpfRoot: '/sys/fs/bpf',
      cgroupRoot: undefined,
      lbMapMax: 65536,
      revNatMapMax: 131072,
      logLevel: 'info',
    });
  });

  test('every flag, with and without =', () => {
    expect(
      runConfig([
        '--manifests=/m',
        '--bpf-root',
        '/tmp/bpf',
        '--cgroup-root=/tmp/cg',
        '--bpf-lb-map-max',
        '1024',
        '--bpf-lb-sock-rev-nat-map-max=2048',
        '--log-level',
        'debug',
      ]),
    ).toEqual({ manifests: '/m', bpfRoot: '/tmp/bpf', cgroupRoot: '/tmp/cg', lbMapMax: 1024, revNatMapMax: 2048, logLevel: 'debug' });
  });

  test('help', () => {
    expect(runConfig(['--manifests', '/m', '--help'])).toBe('help');
    expect(commandHelp(RUN)).toContain('--bpf-lb-map-max N');
  });

  test.each([
    [['--manifests', '/m', '--bogus'], 'unknown flag --bogus'],
    [['--manifests'], 'flag --manifests needs a value (PATH)'],
    [['--manifests', '--bpf-root', '/x'], 'flag --manifests needs a value (PATH)'],
    [['--manifests='], 'flag --manifests needs a value (PATH)'],
    [[], 'flag --manifests is required'],
    [['/m'], 'unexpected argument "/m"'],
    [['--manifests', '/m', '--manifests', '/n'], 'flag --manifests given twice'],
    [['--manifests', '/m', '--bpf-lb-map-max', '12k'], 'flag --bpf-lb-map-max must be an integer from 1 to 16777216, got "12k"'],
    [['--manifests', '/m', '--bpf-lb-map-max', '0'], 'flag --bpf-lb-map-max must be an integer from 1 to 16777216, got "0"'],
    [['--manifests', '/m', '--bpf-lb-map-max=-5'], 'flag --bpf-lb-map-max must be an integer from 1 to 16777216, got "-5"'],
    [['--manifests', '/m', '--bpf-lb-sock-rev-nat-map-max', '1.5'], 'flag --bpf-lb-sock-rev-nat-map-max must be an integer from 1 to 16777216, got "1.5"'],
    [['--manifests', '/m', '--log-level', 'trace'], 'flag --log-level must be one of error, warn, info, debug, got "trace"'],
  ])('%j -> %s', (args, message) => {
    expect(() => runConfig(args)).toThrow(new UsageError('run', message));
  });
});

describe('kpr services flags', () => {
  test.each([
    [[], { bpfRoot: '/sys/fs/bpf', output: 'table' }],
    [['-o', 'json'], { bpfRoot: '/sys/fs/bpf', output: 'json' }],
    [['--output=json', '--bpf-root', '/tmp/b'], { bpfRoot: '/tmp/b', output: 'json' }],
  ])('%j', (args, want) => {
    expect(servicesConfig(args)).toEqual(want);
  });

  test('bad output', () => {
    expect(() => servicesConfig(['-o', 'yaml'])).toThrow('flag --output must be one of table, json, got "yaml"');
  });

  test('errors say which command they belong to', () => {
    try {
      parseFlags(RUN, ['--nope']);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      expect((e as UsageError).command).toBe('run');
    }
    expect.assertions(2);
  });
});
