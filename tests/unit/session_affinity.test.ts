import { ServiceSpec } from '../../lib/model/objects';
import { affinityTimeout } from '../../lib/model/session_affinity';

test.each<[string, ServiceSpec, number]>([
  ['unset', {}, 0],
  ['None', { sessionAffinity: 'None' }, 0],
  ['None ignores a timeout', { sessionAffinity: 'None', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }, 0],
  ['ClientIP defaults to 3 hours', { sessionAffinity: 'ClientIP' }, 10800],
  ['ClientIP with empty config', { sessionAffinity: 'ClientIP', sessionAffinityConfig: {} }, 10800],
  ['ClientIP with timeout', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }, 60],
])('%s -> %i', (_name, spec, want) => {
  expect(affinityTimeout(spec)).toBe(want);
});
