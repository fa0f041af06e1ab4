import { socketState } from '../../lib/datapath/socket/programmed';
import { SocketReconciler } from '../../lib/datapath/socket/reconciler';
import { formatTable, serviceRows } from '../../lib/cli/service_listing';
import { Frontend } from '../../lib/model/frontend';
import { FakeMaps } from './fake_maps';

const fe = (addr: string, port: number, proto: Frontend['proto'], backends: [string, number][], affinityTimeout = 0): Frontend => ({
  kind: 'ClusterIP',
  externalBackends: [],
  sourceRanges: [],
  addr,
  port,
  proto,
  serviceName: 'default/x',
  portName: '',
  affinityTimeout,
  backends: backends.map(([a, p]) => ({ addr: a, port: p })),
});

function programmed(frontends: Frontend[]) {
  const maps = new FakeMaps(100);
  new SocketReconciler(maps, { lbMapMax: 100 }).sync(frontends);
  return socketState(maps.dumpServices(), maps.dumpBackends());
}

test('rows are ordered by address numerically, then port and protocol; backends likewise', () => {
  const rows = serviceRows(
    programmed([
      fe('fd00:198:18::10', 53, 'UDP', [['fd00:198:18:1::1', 53]]),
      fe('198.19.0.10', 80, 'TCP', [['198.18.1.10', 80], ['198.18.1.9', 80]], 60),
      fe('198.19.0.9', 80, 'TCP', []),
      fe('198.19.0.10', 53, 'UDP', [['198.18.1.1', 53]]),
      fe('198.19.0.10', 53, 'TCP', [['198.18.1.1', 53]]),
    ]),
  );
  expect(rows.map((r) => r.frontend)).toEqual([
    '198.19.0.9:80/TCP',
    '198.19.0.10:53/TCP',
    '198.19.0.10:53/UDP',
    '198.19.0.10:80/TCP',
    '[fd00:198:18::10]:53/UDP',
  ]);
  const web = rows[3];
  expect(web).toEqual({
    frontend: '198.19.0.10:80/TCP',
    addr: '198.19.0.10',
    port: 80,
    proto: 'TCP',
    svcId: web.svcId,
    affinityTimeout: 60,
    backends: [
      { id: web.backends[0].id, addr: '198.18.1.9', port: 80 },
      { id: web.backends[1].id, addr: '198.18.1.10', port: 80 },
    ],
  });
});

test('the table is aligned', () => {
  const table = formatTable(serviceRows(programmed([fe('198.19.0.10', 80, 'TCP', [['198.18.1.1', 8080], ['198.18.1.2', 8080]], 10800), fe('fd00:198:18::10', 53, 'UDP', [])])));
  expect(table.split('\n')).toEqual([
    'FRONTEND                  ID  AFFINITY  BACKENDS  ADDRESSES',
    '198.19.0.10:80/TCP        1   10800s    2         198.18.1.1:8080, 198.18.1.2:8080',
    '[fd00:198:18::10]:53/UDP  2   none      0',
    '',
  ]);
});
