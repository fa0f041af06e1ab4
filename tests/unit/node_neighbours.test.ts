import { Nexthop, NeighbourTable, NodeNeighbours } from '../../lib/host/node_neighbours';
import { MemoryLogger } from './logger';

/** A routing table: 198.18.0.0/24 on eth0, anything else via the gateway 198.18.0.254. */
class FakeTable implements NeighbourTable {
  managed = new Set<string>();
  calls: string[] = [];
  failFor = new Set<string>();

  nexthop(addr: string): Nexthop {
    if (this.failFor.has(addr)) throw new Error('RTNETLINK answers: Network is unreachable');
    return addr.startsWith('198.18.0.') ? { addr, dev: 'eth0' } : { addr: '198.18.0.254', dev: 'eth0' };
  }
  manage(hop: Nexthop): void {
    this.calls.push(`manage ${hop.addr}`);
    this.managed.add(hop.addr);
  }
  forget(hop: Nexthop): void {
    this.calls.push(`forget ${hop.addr}`);
    this.managed.delete(hop.addr);
  }
}

describe('node neighbours', () => {
  test('nodes on the link are managed themselves, others through their gateway, each once', () => {
    const t = new FakeTable();
    const n = new NodeNeighbours(new MemoryLogger(), t);
    n.sync(['198.18.0.3', '198.18.5.1', '198.18.6.1']);
    n.sync(['198.18.0.3', '198.18.5.1', '198.18.6.1']);
    expect(t.managed).toEqual(new Set(['198.18.0.3', '198.18.0.254']));
    expect(t.calls.filter((c) => c === 'manage 198.18.0.3')).toHaveLength(1);
  });

  test('a next hop is forgotten only when no node needs it any more', () => {
    const t = new FakeTable();
    const n = new NodeNeighbours(new MemoryLogger(), t);
    n.sync(['198.18.0.3', '198.18.5.1', '198.18.6.1']);
    n.sync(['198.18.5.1']);
    expect(t.managed).toEqual(new Set(['198.18.0.254']));
    n.sync([]);
    expect(t.managed).toEqual(new Set());
    expect(t.calls.filter((c) => c.startsWith('forget'))).toEqual(['forget 198.18.0.3', 'forget 198.18.0.254']);
  });

  test('a node without a route is logged and tried again on the next sync', () => {
    const t = new FakeTable();
    const log = new MemoryLogger();
    const n = new NodeNeighbours(log, t);
    t.failFor.add('198.18.0.3');
    n.sync(['198.18.0.3']);
    expect(log.lines.join('\n')).toMatch(/node 198\.18\.0\.3: RTNETLINK answers: Network is unreachable/);
    t.failFor.clear();
    n.sync(['198.18.0.3']);
    expect(t.managed).toEqual(new Set(['198.18.0.3']));
  });
});
