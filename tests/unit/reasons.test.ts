import * as fs from 'fs';
import * as path from 'path';
import { dropReasonName, DROP_REASONS } from '../../lib/datapath/reasons';

test('drop reason names follow enum kpr_reason in kpr_types.h', () => {
  // dist/tests/unit -> repository root
  const header = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'bpf', 'include', 'kpr_types.h'), 'utf8');
  const body = /enum kpr_reason \{([^}]*)\}/.exec(header)?.[1] ?? '';
  const fromHeader: string[] = [];
  for (const m of body.matchAll(/KPR_REASON_(\w+)\s*=\s*(\d+)/g)) {
    if (m[1] !== 'MAX') fromHeader[Number(m[2])] = m[1].toLowerCase();
  }
  expect(fromHeader.length).toBeGreaterThan(0);
  expect([...DROP_REASONS]).toEqual(fromHeader);
  expect(dropReasonName(7)).toBe('reason_7');
});
