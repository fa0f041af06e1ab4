import * as fs from 'fs';
import * as path from 'path';
import { dropReasonName, SOCK_DROP_REASONS, EDGE_DROP_REASONS } from '../../lib/datapath/reasons';

/** The names of an enum's members in a header under bpf/include, by value. */
function enumNames(header: string, enumName: string, prefix: string): string[] {
  // dist/tests/unit -> repository root
  const text = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'bpf', 'include', header), 'utf8');
  const body = new RegExp(`enum ${enumName} \\{([^}]*)\\}`).exec(text)?.[1] ?? '';
  const names: string[] = [];
  for (const m of body.matchAll(new RegExp(`${prefix}(\\w+)\\s*=\\s*(\\d+)`, 'g'))) {
    if (m[1] !== 'MAX' && m[1] !== 'REASON_MAX') names[Number(m[2])] = m[1].toLowerCase();
  }
  return names;
}

test('drop reason names follow enum kpr_sock_reason in kpr_sock_types.h', () => {
  const fromHeader = enumNames('kpr_sock_types.h', 'kpr_sock_reason', 'KPR_SOCK_(?:DROP_)?');
  expect(fromHeader.length).toBeGreaterThan(0);
  expect([...SOCK_DROP_REASONS]).toEqual(fromHeader);
  expect(dropReasonName(7)).toBe('reason_7');
});

test('edge drop reason names follow enum kpr_edge_reason in kpr_edge_types.h', () => {
  const fromHeader = enumNames('kpr_edge_types.h', 'kpr_edge_reason', 'KPR_EDGE_(?:DROP_)?');
  expect(fromHeader.length).toBeGreaterThan(0);
  expect([...EDGE_DROP_REASONS]).toEqual(fromHeader);
  expect(dropReasonName(1, EDGE_DROP_REASONS)).toBe('source_range_denied');
  expect(dropReasonName(15, EDGE_DROP_REASONS)).toBe('reason_15');
});
