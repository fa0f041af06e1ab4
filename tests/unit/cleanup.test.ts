// kpr cleanup's own logic: what it reports, its errors, kube-proxy's spelling.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cleanupSpelling, formatCleanup } from '../../lib/cli/commands/cleanup';
import { cleanupNode } from '../../lib/host/cleanup';

describe('kpr cleanup', () => {
  test("kube-proxy's --cleanup, alone or among the agent's flags, is kpr cleanup with the agent's --bpf-root", () => {
    expect(cleanupSpelling(['--cleanup'])).toEqual([]);
    expect(cleanupSpelling(['--kubeconfig', '/k', '--bpf-root', '/b', '--cleanup'])).toEqual(['--bpf-root', '/b']);
    expect(cleanupSpelling(['--cleanup=true', '--bpf-root=/b'])).toEqual(['--bpf-root=/b']);
    expect(cleanupSpelling(['--cleanup=false'])).toBeUndefined();
    expect(cleanupSpelling(['--kubeconfig', '/k'])).toBeUndefined();
  });

  test('pins and their directories go; a device or neighbour failure is said and the rest still goes', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-cleanup-'));
    try {
      for (const dir of ['maps', 'links']) fs.mkdirSync(path.join(root, 'kpr', dir), { recursive: true });
      fs.writeFileSync(path.join(root, 'kpr', 'maps', 'kpr_services'), '');
      fs.writeFileSync(path.join(root, 'kpr', 'links', 'kpr_connect4'), '');
      const forgotten: string[] = [];
      const report = cleanupNode(root, {
        detachDevices: () => {
          throw new Error('netlink: no permission');
        },
        neighbours: () => [{ addr: '198.18.0.3', dev: 'eth0' }],
        forget: (hop) => void forgotten.push(hop.addr),
        deleteNatTable: () => true,
      });
      expect(report).toEqual({
        removed: [
          'neighbour 198.18.0.3 on eth0',
          'nftables table inet kpr_inherited_nat',
          `pin ${root}/kpr/links/kpr_connect4`,
          `pin ${root}/kpr/maps/kpr_services`,
          `directory ${root}/kpr/links`,
          `directory ${root}/kpr/maps`,
          `directory ${root}/kpr`,
        ],
        errors: ['devices: netlink: no permission'],
      });
      expect(forgotten).toEqual(['198.18.0.3']);
      expect(formatCleanup(report).split('\n').slice(-3)).toEqual(['could not remove devices: netlink: no permission', '7 removed, 1 not', '']);
      expect(formatCleanup(cleanupNode(root, { detachDevices: () => [], neighbours: () => [], forget: () => undefined, deleteNatTable: () => false }))).toBe('nothing of kpr found\n');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
