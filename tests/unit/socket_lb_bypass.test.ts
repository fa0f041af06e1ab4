// The socket-LB bypass: which pods ask for it (model/socket_lb_bypass.ts),
// and how the socket LB writes their namespaces (datapath/socket/socket_lb.ts).
import { SocketLb } from '../../lib/datapath/socket/socket_lb';
import { rangesDigest } from '../../lib/datapath/socket/map_digest';
import { SocketReconciler } from '../../lib/datapath/socket/reconciler';
import { PodNetns } from '../../lib/host/pod_netns';
import { Namespace, Pod } from '../../lib/model/objects';
import { socketLbBypass } from '../../lib/model/socket_lb_bypass';
import { CapacityReport } from '../../lib/sync/capacity';
import { SyncContext } from '../../lib/sync/lb_sync';
import { desired, node } from './objects';
import { FakeMaps } from './fake_maps';
import { MemoryLogger } from './logger';

const pod = (name: string, ip: string, more: { namespace?: string; annotations?: Record<string, string>; nodeName?: string; hostNetwork?: boolean } = {}): Pod => ({
  metadata: { name, namespace: more.namespace ?? 'default', labels: {}, annotations: more.annotations ?? {} },
  spec: { nodeName: more.nodeName ?? 'node-a', ...(more.hostNetwork ? { hostNetwork: true } : {}) },
  status: { podIPs: [{ ip }, { ip: ip.replace('198.18.1.', 'fd00:198:18:1::') }] },
});
const ns = (name: string, meta: { annotations?: Record<string, string>; labels?: Record<string, string> } = {}): Namespace => ({
  metadata: { name, namespace: '', labels: meta.labels ?? {}, annotations: meta.annotations ?? {} },
});
const OFF = { 'kpr.io/socket-lb': 'disabled' };

describe('which pods the socket LB leaves alone', () => {
  test("this node's pods annotated, or in a namespace annotated or labelled; never another node's, nor one on the node's own network", () => {
    const pods = [
      pod('asks', '198.18.1.1', { annotations: OFF }),
      pod('plain', '198.18.1.2'),
      pod('elsewhere', '198.18.1.3', { annotations: OFF, nodeName: 'node-b' }),
      pod('host', '198.18.1.4', { annotations: OFF, hostNetwork: true }),
      pod('in-mesh', '198.18.1.5', { namespace: 'mesh' }),
      pod('in-labelled', '198.18.1.6', { namespace: 'labelled' }),
      pod('other-value', '198.18.1.7', { annotations: { 'kpr.io/socket-lb': 'enabled' } }),
    ];
    const namespaces = [ns('mesh', { annotations: OFF }), ns('labelled', { labels: OFF }), ns('default')];
    expect(socketLbBypass(pods, namespaces, 'node-a')).toEqual(['198.18.1.1', '198.18.1.5', '198.18.1.6', 'fd00:198:18:1::1', 'fd00:198:18:1::5', 'fd00:198:18:1::6']);
    // A pod's label is not enough: labels select pods for others (policies, services).
    expect(socketLbBypass([{ ...pod('labelled', '198.18.1.8'), metadata: { ...pod('labelled', '198.18.1.8').metadata, labels: OFF } }], [], 'node-a')).toEqual([]);
  });
});

describe('the socket LB writes the bypassed pods\' namespaces', () => {
  function setup(podNetns?: Pick<PodNetns, 'cookies'>) {
    const written: string[][] = [];
    const log = new MemoryLogger();
    const dp = { destroyUdpSockets: () => 0, replaceBypass: (c: string[]) => void written.push(c), replaceServiceRanges: () => undefined, serviceRangesDigestLater: async () => ({ ranges: rangesDigest([]) }) };
    const lb = new SocketLb({ dp, reconciler: new SocketReconciler(new FakeMaps(100), { lbMapMax: 100 }), capacity: new CapacityReport({ log }), resync: () => undefined, log, podNetns, ownsServiceCidrs: true });
    const sync = (socketBypass: string[], kind: SyncContext['kind'] = 'changes') => lb.sync(desired([]), { node: node(), kind, routine: false, elapsed: () => 0, socketBypass, serviceCidrs: [] });
    return { written, log, sync };
  }

  test('each namespace once, written when the set changes; an address no namespace holds is looked for again at the next full sync', () => {
    const held = new Map([['198.18.1.1', '77'], ['fd00:198:18:1::1', '77'], ['198.18.1.5', '78']]);
    let found = new Map([...held].filter(([a]) => a !== '198.18.1.5'));
    const { written, log, sync } = setup({ cookies: (addrs) => new Map([...found].filter(([a]) => addrs.includes(a))) });
    sync(['198.18.1.1', '198.18.1.5', 'fd00:198:18:1::1']);
    expect(written).toEqual([['77']]);
    expect(log.matching(/no network namespace holds 198.18.1.5 yet/)).toHaveLength(1);
    sync(['198.18.1.1', '198.18.1.5', 'fd00:198:18:1::1']);
    expect(written).toHaveLength(1);
    found = held;
    sync(['198.18.1.1', '198.18.1.5', 'fd00:198:18:1::1'], 'full');
    expect(written).toEqual([['77'], ['77', '78']]);
    sync([]);
    expect(written).toEqual([['77'], ['77', '78'], []]);
  });

  test('without the per-packet path nothing is bypassed, and it is said', () => {
    const { written, log, sync } = setup(undefined);
    sync(['198.18.1.1']);
    expect(written).toEqual([]);
    expect(log.matching(/the per-packet path is off/)).toHaveLength(1);
  });
});
