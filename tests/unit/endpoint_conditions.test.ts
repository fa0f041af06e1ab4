import { endpointConditions, usableEndpoints } from '../../lib/model/endpoint_conditions';
import { Endpoint } from '../../lib/model/objects';

type C = Endpoint['conditions'];

describe("unset conditions mean what kube-proxy reads them as (nil serving is true, even when not ready)", () => {
  test.each<[C, boolean, boolean, boolean]>([
    [undefined, true, true, false],
    [{}, true, true, false],
    [{ ready: false }, false, true, false],
    [{ ready: false, serving: true }, false, true, false],
    [{ ready: true, serving: false }, true, false, false],
    [{ terminating: true }, true, true, true],
    [{ ready: false, terminating: true }, false, true, true],
    [{ ready: false, serving: true, terminating: true }, false, true, true],
  ])('%j -> ready %s serving %s terminating %s', (conditions, ready, serving, terminating) => {
    expect(endpointConditions({ address: '198.18.0.1', conditions })).toEqual({ ready, serving, terminating });
  });
});

describe('usable endpoints', () => {
  const e = (name: string, ready: boolean, serving: boolean, terminating: boolean) => ({ name, conditions: { ready, serving, terminating } });
  const readyOne = e('ready', true, true, false);
  const readyTerminating = e('ready-terminating', true, true, true);
  const servingTerminating = e('serving-terminating', false, true, true);
  const notReady = e('not-ready', false, false, false);
  const servingNotTerminating = e('serving-not-terminating', false, true, false);
  const terminatingNotServing = e('terminating-not-serving', false, false, true);

  test.each([
    ['ready ones only, while any is ready', [readyOne, servingTerminating, notReady], ['ready']],
    ['ready counts even when terminating', [readyTerminating, servingTerminating], ['ready-terminating']],
    ['falls back to serving and terminating', [servingTerminating, notReady, terminatingNotServing], ['serving-terminating']],
    ['serving but not terminating is no fallback', [servingNotTerminating, notReady], []],
    ['nothing usable', [notReady, terminatingNotServing], []],
    ['empty', [], []],
  ])('%s', (_name, eps, want) => {
    expect(usableEndpoints(eps).map((x) => x.name)).toEqual(want);
  });
});

describe('a terminating endpoint that does not say whether it serves', () => {
  test('takes traffic when no endpoint is ready, as kube-proxy sends it (nil serving is true)', () => {
    const eps = [{ name: 'old', conditions: endpointConditions({ address: '198.18.0.1', conditions: { ready: false, terminating: true } }) }];
    expect(usableEndpoints(eps).map((e) => e.name)).toEqual(['old']);
  });
});
