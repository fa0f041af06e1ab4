import { SocketLb } from '../../lib/datapath/socket/socket_lb';
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

  test('the socket LB writes them after its frontends, only when they change, and reads them back at a full sync', () => {
    const written: string[][] = [];
    let inMap: string[] = [];
    const dp = {
      destroyUdpSockets: () => 0,
      replaceBypass: () => undefined,
      replaceServiceRanges: (c: string[]) => void written.push((inMap = [...c])),
      dumpServiceRanges: () => inMap,
    };
    const log = new MemoryLogger();
    const lb = new SocketLb({ dp, reconciler: new SocketReconciler(new FakeMaps(100), { lbMapMax: 100 }), capacity: new CapacityReport({ log }), log, ownsServiceCidrs: true });
    const ctx = (kind: SyncContext['kind'], serviceCidrs: string[]): SyncContext => ({ node: node(), kind, routine: false, elapsed: () => 0, socketBypass: [], serviceCidrs });
    lb.sync(desired([dual]), ctx('changes', ['198.19.0.0/16']));
    lb.sync(desired([dual]), ctx('changes', ['198.19.0.0/16']));
    expect(written).toEqual([['198.19.0.0/16', '198.19.0.10/32', 'fd00:198:19::a/128']]);
    lb.sync(desired([dual]), ctx('changes', []));
    expect(written[1]).toEqual(['198.19.0.10/32', 'fd00:198:19::a/128']);
    // Someone emptied the map: the next full sync puts them back.
    inMap = [];
    lb.sync(desired([dual]), ctx('full', []));
    expect(written).toHaveLength(3);
    expect(inMap).toEqual(['198.19.0.10/32', 'fd00:198:19::a/128']);
  });
});
