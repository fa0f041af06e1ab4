import { MAGLEV_COMPUTE, maglevComputeConfig } from '../../lib/cli/commands/maglev';
import { commandHelp, UsageError } from '../../lib/cli/flags';
import { DEFAULT_MAGLEV_SEED } from '../../lib/datapath/edge/maglev';

describe('kpr maglev compute flags', () => {
  test('defaults: Cilium\'s table size 16381, the fixed seed, table output', () => {
    expect(maglevComputeConfig(['--backends-file', 'f'])).toEqual({ backendsFile: 'f', size: 16381, seed: DEFAULT_MAGLEV_SEED, output: 'table' });
  });

  test('every flag', () => {
    expect(maglevComputeConfig(['--backends-file=f', '--size', '65537', '--seed=4294967295', '-o', 'json'])).toEqual({
      backendsFile: 'f',
      size: 65537,
      seed: 4294967295,
      output: 'json',
    });
  });

  test("--seed also takes Cilium's base64 seed, as kpr run does", () => {
    expect(maglevComputeConfig(['--backends-file', 'f', '--seed', 'JLfvgnHc2kaSUFaI'])).toMatchObject({ seed: (0x82efb724 ^ 0x46dadc71 ^ 0x88565092) >>> 0 });
  });

  test('errors name the flag', () => {
    const fails = (args: string[], message: string) => {
      expect(() => maglevComputeConfig(args)).toThrow(UsageError);
      expect(() => maglevComputeConfig(args)).toThrow(message);
    };
    fails([], 'flag --backends-file is required');
    fails(['--backends-file', 'f', '--seed', '4294967296'], 'flag --seed must be an unsigned 32-bit integer, or Cilium\'s 12 bytes in base64 (head -c12 /dev/urandom | base64), got "4294967296"');
    fails(['--backends-file', 'f', '--size', 'big'], 'flag --size must be an integer from 251 to 131071, got "big"');
    fails(['--backends-file', 'f', '--size', '131101'], 'flag --size must be an integer from 251 to 131071, got "131101"');
    fails(['--backends-file', 'f', '-o', 'yaml'], 'flag --output must be one of table, json, got "yaml"');
  });

  test('help', () => {
    expect(maglevComputeConfig(['-h'])).toBe('help');
    expect(commandHelp(MAGLEV_COMPUTE)).toMatch(/^usage: kpr maglev compute \[flags\]/);
  });
});
