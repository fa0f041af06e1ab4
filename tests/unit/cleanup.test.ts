// kpr cleanup's own logic: what it reports, its errors, kube-proxy's spelling.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cleanupSpelling, formatCleanup } from '../../lib/cli/commands/cleanup';
import { cleanupNode, CleanupDeps } from '../../lib/host/cleanup';

const NO_FLOWS = { snat: 0, local: 0, replaced: 0, closed: 0, failed: 0, errors: [] };

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
        handOver: () => NO_FLOWS,
        detachDevices: () => {
          throw new Error('netlink: no permission');
        },
        neighbours: () => [{ addr: '198.18.0.3', dev: 'eth0' }],
        forget: (hop) => void forgotten.push(hop.addr),
        deleteNatTable: () => true,
      });
      expect(report).toEqual({
        handedOver: [],
        notHandedOver: [],
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
      expect(formatCleanup(cleanupNode(root, { handOver: () => NO_FLOWS, detachDevices: () => [], neighbours: () => [], forget: () => undefined, deleteNatTable: () => false }))).toBe('nothing of kpr found\n');
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test('the flows are handed to conntrack before any program goes, and said; a failure is said, counted, and the rest still goes', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-cleanup-'));
    try {
      const calls: string[] = [];
      const deps = (handOver: CleanupDeps['handOver']): CleanupDeps => ({
        handOver: (mapDir) => {
          calls.push(`handOver ${mapDir}`);
          return handOver(mapDir);
        },
        detachDevices: () => {
          calls.push('detach');
          return ['xdp kpr_xdp_lb on eth0'];
        },
        neighbours: () => [],
        forget: () => undefined,
        deleteNatTable: () => false,
      });
      const handed = cleanupNode(root, deps(() => ({ snat: 300, local: 100, replaced: 98, closed: 7, failed: 0, errors: [] })));
      expect(calls).toEqual([`handOver ${root}/kpr/maps`, 'detach']);
      expect(formatCleanup(handed).split('\n')).toEqual([
        "handed 400 flows to the node's conntrack (300 snat, 100 to backends on this node, 98 of them replacing their untranslated entry); 7 closed ones left out",
        'removed xdp kpr_xdp_lb on eth0',
        '1 removed, 0 not',
        '',
      ]);

      const failed = cleanupNode(root, deps(() => ({ ...NO_FLOWS, local: 2, failed: 8, errors: ['tcp 198.18.0.9 port 5000 -> 198.18.0.2 port 30080 (backend 198.18.1.5 port 8080): File exists'] })));
      expect(failed.notHandedOver).toEqual(['flow tcp 198.18.0.9 port 5000 -> 198.18.0.2 port 30080 (backend 198.18.1.5 port 8080): File exists', '7 more flows']);
      expect(failed.removed).toEqual(['xdp kpr_xdp_lb on eth0']);
      expect(formatCleanup(failed)).toContain('could not hand over 7 more flows\n');

      const unreachable = cleanupNode(root, deps(() => {
        throw new Error('opening a ctnetlink socket: Protocol not supported');
      }));
      expect(unreachable.notHandedOver).toEqual(['flows: opening a ctnetlink socket: Protocol not supported']);
      expect(unreachable.removed).toEqual(['xdp kpr_xdp_lb on eth0']);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
