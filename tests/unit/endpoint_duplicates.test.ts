import { dedupeEndpoints, EndpointCandidate } from '../../lib/model/endpoint_duplicates';

const c = (addr: string, port: number, ready: boolean, terminating: boolean): EndpointCandidate => ({
  addr,
  port,
  conditions: { ready, serving: ready, terminating },
});

describe('an address and port in several slices counts once', () => {
  test.each([
    ['identical copies', [c('198.18.1.1', 80, true, false), c('198.18.1.1', 80, true, false)], [c('198.18.1.1', 80, true, false)]],
    ['non-terminating wins, seen second', [c('198.18.1.1', 80, false, true), c('198.18.1.1', 80, true, false)], [c('198.18.1.1', 80, true, false)]],
    ['non-terminating wins, seen first', [c('198.18.1.1', 80, true, false), c('198.18.1.1', 80, false, true)], [c('198.18.1.1', 80, true, false)]],
    ['non-terminating wins even if not ready', [c('198.18.1.1', 80, true, true), c('198.18.1.1', 80, false, false)], [c('198.18.1.1', 80, false, false)]],
    ['ready wins among non-terminating', [c('198.18.1.1', 80, false, false), c('198.18.1.1', 80, true, false)], [c('198.18.1.1', 80, true, false)]],
    ['other port is another backend', [c('198.18.1.1', 80, true, false), c('198.18.1.1', 81, true, false)], [c('198.18.1.1', 80, true, false), c('198.18.1.1', 81, true, false)]],
  ])('%s', (_name, input, want) => {
    expect(dedupeEndpoints(input)).toEqual(want);
  });
});
