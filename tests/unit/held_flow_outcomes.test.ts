// How a hold's flows fared (tests/helpers/held_flow_outcomes.ts), from given
// events: what the handover suites count as a broken flow, a moved one, an
// excused loss and a lost UDP exchange that the flow answered after.
import type { HoldEvent } from '../helpers/client_report';
import { flowOutcomes } from '../helpers/held_flow_outcomes';

const probe = (flow: number, seq: number, ok: boolean, backend = 'a1', t = 1000 * seq): HoldEvent =>
  ok ? { type: 'probe', flow, seq, ok, backend, t, ms: 1 } : { type: 'probe', flow, seq, ok, error: 'ETIMEDOUT', t, ms: 1 };

describe('held flow outcomes', () => {
  const lostOnce = [probe(0, 0, true), probe(0, 1, false), probe(0, 2, true), probe(1, 0, true), probe(1, 1, true)];

  test('a failed probe breaks a flow, unless losses recover and the flow answered after it', () => {
    expect(flowOutcomes(lostOnce)).toMatchObject({ flows: 2, broken: 1, lost: 0, errors: { 'probe 1 ETIMEDOUT': 1 } });
    expect(flowOutcomes(lostOnce, undefined, true)).toMatchObject({ flows: 2, broken: 0, lost: 1, errors: {} });
  });

  test('a flow whose last probes failed is broken even where losses recover', () => {
    const silent = [probe(0, 0, true), probe(0, 1, true), probe(0, 2, false), probe(0, 3, false)];
    expect(flowOutcomes(silent, undefined, true)).toMatchObject({ broken: 1, lost: 0, errors: { 'probe 2 ETIMEDOUT': 1, 'probe 3 ETIMEDOUT': 1 } });
  });

  test('a flow answered by another backend after a loss has moved', () => {
    const other = [probe(0, 0, true, 'a1'), probe(0, 1, false), probe(0, 2, true, 'b1')];
    expect(flowOutcomes(other, undefined, true)).toMatchObject({ broken: 0, moved: 1, lost: 1 });
  });

  test('a loss inside the excused window is counted there, not as lost', () => {
    expect(flowOutcomes(lostOnce, { from: 500, to: 1500 }, true)).toMatchObject({ broken: 0, excused: 1, lost: 0 });
  });

  test('a socket error breaks a flow whatever follows', () => {
    const socket: HoldEvent[] = [probe(0, 0, true), { type: 'error', flow: 0, t: 1500, error: 'ECONNRESET' }, probe(0, 2, true)];
    expect(flowOutcomes(socket, undefined, true)).toMatchObject({ broken: 1, errors: { 'socket ECONNRESET': 1 } });
  });

  test('a flow that never answered is broken', () => {
    expect(flowOutcomes([probe(0, 0, false), probe(0, 1, false)], undefined, true)).toMatchObject({ flows: 1, broken: 1, lost: 0 });
  });
});
