import { SocketLb } from '../../lib/datapath/socket/socket_lb';
import { rangesDigest } from '../../lib/datapath/socket/map_digest';
import { SocketReconciler } from '../../lib/datapath/socket/reconciler';
import { refusedRanges } from '../../lib/model/refused_addresses';
import { SyncContext } from '../../lib/sync/lb_sync';
import { CapacityReport } from '../../lib/sync/capacity';
import { FakeMaps } from './fake_maps';
import { MemoryLogger } from './logger';
import { desired, node, service } from './objects';

describe('the addresses refused when no frontend takes them', () => {
  const dual = service('web', { clusterIP: '198.19.0.10', clusterIPs: ['198.19.0.10', 'fd00:198:19::a'], type: 'NodePort', ports: [{ port: 80, nodePort: 30080 }, { name: 'dns', port: 53, protocol: 'UDP' }] });

  test('every ClusterIP once, as a host route, beside the service CIDRs; never a NodePort address', () => {
    const { frontends } = desired([dual]);
    expect(refusedRanges(['198.19.0.0/16'], frontends, true)).toEqual(['198.19.0.0/16', '198.19.0.10/32', 'fd00:198:19::a/128']);
    expect(refusedRanges([], desired([]).frontends, true)).toEqual([]);
  });

  test('a proxy with a name of its own (--service-proxy-name) refuses its ClusterIPs alone: the CIDRs hold the other proxy\'s services too', () => {
    expect(refusedRanges(['198.19.0.0/16'], desired([dual]).frontends, false)).toEqual(['198.19.0.10/32', 'fd00:198:19::a/128']);
  });

  test('the socket LB writes them after its frontends, only when they change; a full sync checks the map and has them written again when it changed', async () => {
    const written: string[][] = [];
    let inMap: string[] = [];
    const dp = {
      destroyUdpSockets: () => 0,
      replaceBypass: () => undefined,
      replaceServiceRanges: (c: string[]) => void written.push((inMap = [...c])),
      serviceRangesDigestLater: async () => ({ ranges: rangesDigest(inMap) }),
    };
    const log = new MemoryLogger();
    let resyncs = 0;
    const lb = new SocketLb({ dp, reconciler: new SocketReconciler(new FakeMaps(100), { lbMapMax: 100 }), capacity: new CapacityReport({ log }), resync: () => resyncs++, log, ownsServiceCidrs: true });
    const ctx = (kind: SyncContext['kind'], serviceCidrs: string[]): SyncContext => ({ node: node(), kind, routine: false, elapsed: () => 0, socketBypass: [], serviceCidrs });
    const settle = async () => {
      for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    lb.sync(desired([dual]), ctx('changes', ['198.19.0.0/16']));
    lb.sync(desired([dual]), ctx('changes', ['198.19.0.0/16']));
    expect(written).toEqual([['198.19.0.0/16', '198.19.0.10/32', 'fd00:198:19::a/128']]);
    const cidrs: string[] = [];
    lb.sync(desired([dual]), ctx('changes', cidrs));
    expect(written[1]).toEqual(['198.19.0.10/32', 'fd00:198:19::a/128']);
    // A full sync that finds them in place writes nothing and asks for nothing.
    const held = desired([dual]);
    lb.sync(held, ctx('full', cidrs));
    await settle();
    expect({ writes: written.length, resyncs }).toEqual({ writes: 2, resyncs: 0 });
    // Someone emptied the map: the full sync's check finds it, and the sync it asks for puts them back.
    inMap = [];
    lb.sync(held, ctx('full', cidrs));
    await settle();
    expect({ writes: written.length, resyncs }).toEqual({ writes: 2, resyncs: 1 });
    expect(log.matching(/^warn socket LB: kpr_sock_service_ranges no longer holds what the agent wrote; writing it again$/)).toHaveLength(1);
    lb.sync(held, ctx('changes', cidrs));
    expect(written).toHaveLength(3);
    expect(inMap).toEqual(['198.19.0.10/32', 'fd00:198:19::a/128']);
  });
});
