// The inherited NAT table as the agent writes it with nft, in a namespace of
// its own: its postrouting rule takes the namespace's ip_local_port_range,
// and an agent that starts again mid-migration (the table is still there)
// leaves one copy of each rule, not two. Each agent is a process of its own
// in the namespace, as a restarted agent is.
import * as fs from 'fs';
import * as path from 'path';
import { INHERITED_NAT_TABLE } from '../../lib/host/inherited_nat';
import { newName } from '../helpers/naming';
import { removeNamespace } from '../helpers/netns';
import { assertPrivileged } from '../helpers/preflight';
import { ip, run } from '../helpers/run';
import { createTestDir, TestDir } from '../helpers/test_dir';

/** A connection an old proxy's DNAT translated, as /proc/net/nf_conntrack shows it. */
const TRANSLATED =
  'ipv4     2 udp      17 117 src=198.18.0.1 dst=198.19.9.60 sport=50000 dport=81 src=198.18.11.11 dst=198.18.0.1 sport=8081 dport=50000 [ASSURED] mark=0 zone=0 use=2\n';

describe('the inherited NAT table on a node', () => {
  let ns: string;
  let procfs: TestDir;

  beforeAll(() => {
    assertPrivileged();
    ns = newName('inhtable');
    ip('netns', 'add', ns);
    run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=40000 45000']);
    procfs = createTestDir('inhtable-proc');
    fs.mkdirSync(path.join(procfs.path, 'net'));
  });

  afterAll(() => {
    if (ns) removeNamespace(ns);
    procfs?.destroy();
  });

  /** One agent's look at the node's conntrack (it reads procfs/net/nf_conntrack), in ns. */
  function agentChecks(conntrack: string): void {
    fs.writeFileSync(path.join(procfs.path, 'net', 'nf_conntrack'), conntrack);
    const lib = path.join(__dirname, '..', '..', 'lib', 'host', 'inherited_nat.js');
    const log = '{ debug() {}, info() {}, warn: console.error, error: console.error }';
    run('ip', ['netns', 'exec', ns, process.execPath, '-e', `require(${JSON.stringify(lib)}).nodeInheritedNat(${JSON.stringify(procfs.path)}, ${log}, () => {}).check()`]);
  }

  const tables = () => run('ip', ['netns', 'exec', ns, 'nft', 'list', 'tables']);
  const rules = () =>
    run('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'inet', INHERITED_NAT_TABLE])
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /accept$|snat to/.test(l));

  test('moves within the namespace\'s local port range; one copy of each rule after a restart; gone once nothing is inherited', () => {
    agentChecks(TRANSLATED);
    const once = rules();
    expect(once).toEqual(['ct state established,related accept', 'meta l4proto { tcp, udp } th sport 40000-45000 snat to :40000-45000']);
    agentChecks(TRANSLATED);
    expect(rules()).toEqual(once);
    agentChecks('');
    expect(tables()).not.toContain(INHERITED_NAT_TABLE);
  });
});
