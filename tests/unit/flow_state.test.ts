import * as fs from 'fs';
import * as path from 'path';
import { CT, flowStateName } from '../../lib/datapath/edge/flow_state';

test.each([
  ['TCP', 0, 'syn'],
  ['TCP', CT.established, 'established'],
  ['TCP', CT.replied, 'established'],
  ['TCP', CT.established | CT.finClient, 'closing'],
  ['TCP', CT.established | CT.finBackend, 'closing'],
  ['TCP', CT.established | CT.finClient | CT.rst, 'reset'],
  ['UDP', 0, 'udp'],
  ['UDP', CT.replied, 'udp'],
  ['UDP', CT.replied | CT.stream, 'udp-stream'],
  ['SCTP', 0, 'udp'],
] as const)('%s with state bits %i: %s', (proto, bits, name) => {
  expect(flowStateName(proto, bits)).toBe(name);
});

test('the bits are kpr_flow_lifetime.h\'s', () => {
  // dist/tests/unit -> repository root
  const header = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'bpf', 'include', 'kpr_flow_lifetime.h'), 'utf8');
  const defined = (name: string) => Number(new RegExp(`#define ${name}\\s+(0x[0-9a-f]+)`).exec(header)?.[1]);
  expect(CT).toEqual({
    established: defined('KPR_CT_ESTABLISHED'),
    finClient: defined('KPR_CT_FIN_CLIENT'),
    finBackend: defined('KPR_CT_FIN_BACKEND'),
    rst: defined('KPR_CT_RST'),
    replied: defined('KPR_CT_REPLIED'),
    stream: defined('KPR_CT_STREAM'),
  });
});
