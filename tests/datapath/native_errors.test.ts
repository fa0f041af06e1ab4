// The addon's errors, as an operator reads them: errno text, the verifier's
// own words on a rejected program, and the map that did not fit.
import * as path from 'path';
import { loadAddon, SocketOpenOptions, repoRoot } from '../../lib/datapath/native';
import { openBpfRoot, socketOptions } from '../bpf/xdp_fixture';
import { BpfRoot } from '../helpers/bpf_root';
import { assertPrivileged } from '../helpers/preflight';
import { run } from '../helpers/run';
import * as fs from 'fs';

const REJECTED = path.join(repoRoot(), 'build', 'verifier_reject.o');

describe('native addon errors', () => {
  let root: BpfRoot;
  let opts: SocketOpenOptions;

  beforeAll(() => assertPrivileged());
  beforeEach(() => {
    root = openBpfRoot('native');
    opts = socketOptions(path.join(root.path, 'kpr', 'maps'));
  });
  afterEach(() => root.destroy());

  test('a verifier rejection names the object and shows the tail of the verifier log', () => {
    const open = () => loadAddon().openSocketDatapath({ ...opts, objectPath: REJECTED });
    expect(open).toThrow(/loading BPF object .*verifier_reject\.o: Permission denied \(errno 13\)/);
    expect(open).toThrow(/invalid access to map value/);
  });

  test('pinned maps too small for what they hold are refused, and left as they were', () => {
    const backend = { id: 7, addr: '198.18.0.11', port: 80, svcId: 1 };
    const dp = loadAddon().openSocketDatapath(opts);
    dp.updateBackends([backend, { ...backend, id: 8 }, { ...backend, id: 9 }]);
    dp.close();
    expect(() => loadAddon().openSocketDatapath({ ...opts, lbMapMax: 2 })).toThrow('migrating map kpr_backends: it holds more entries than its new capacity of 2');
    const again = loadAddon().openSocketDatapath(opts);
    expect(again.migrations()).toEqual([]);
    expect(again.dumpBackends()).toContainEqual(backend);
    again.close();
  });

  test('a pinned map of a layout no migration knows is refused, naming both layouts', () => {
    fs.mkdirSync(opts.mapDir, { recursive: true });
    run('bpftool', ['map', 'create', path.join(opts.mapDir, 'kpr_backends'), 'type', 'hash', 'key', '4', 'value', '4', 'entries', '16', 'name', 'kpr_backends', 'flags', '1']);
    expect(() => loadAddon().openSocketDatapath(opts)).toThrow(
      /map kpr_backends pinned under \S+ has another layout \(hash, key 4 bytes, value 4 bytes, flags 1; this build's: hash, key 4 bytes, value 24 bytes, flags 1\): no migration is known for it/,
    );
  });

  test('bad arguments are refused before anything is written', () => {
    const dp = loadAddon().openSocketDatapath(opts);
    try {
      expect(() => dp.updateBackends([{ id: 1, addr: 'not-an-ip', port: 80, svcId: 1 }])).toThrow("not an IP address: 'not-an-ip'");
      expect(() => dp.updateServices([{ addr: '198.19.0.1', port: 80, proto: 'ICMP' as never, slot: 0, svcId: 1, backendId: 0, count: 0, affinityTimeout: 0 }])).toThrow(/unknown protocol 'ICMP'/);
      expect(() => dp.updateBackends([{ id: 1, addr: '198.18.0.1', port: 70000, svcId: 1 }])).toThrow(/'port' out of range/);
      expect(dp.dumpBackends()).toEqual([]);
    } finally {
      dp.close();
    }
  });

  test('opening maps that are not pinned says which file and why', () => {
    expect(() => loadAddon().openPinnedSocketMaps(path.join(root.path, 'nothing'))).toThrow(/opening pinned map .*nothing\/kpr_services: No such file or directory/);
  });
});
