import { LB_ALGORITHM_ANNOTATION, lbAlgorithm, LbAlgorithm } from '../../lib/model/lb_algorithm';
import { ALL_NODE_ADDRESSES, desired, service } from './objects';

const svc = (annotation?: string) => {
  const s = service('web', { type: 'NodePort', clusterIP: '198.19.0.10', ports: [{ port: 80, nodePort: 30080 }] });
  if (annotation !== undefined) s.metadata.annotations[LB_ALGORITHM_ANNOTATION] = annotation;
  return s;
};

describe('LB algorithm', () => {
  test.each<[string, string | undefined, LbAlgorithm, LbAlgorithm]>([
    ['--bpf-lb-algorithm maglev', undefined, 'maglev', 'maglev'],
    ['--bpf-lb-algorithm random', undefined, 'random', 'random'],
    ['the annotation wins', 'random', 'maglev', 'random'],
    ['the annotation wins, maglev', 'Maglev', 'random', 'maglev'],
    ['an invalid annotation: the default applies', 'least-conn', 'random', 'random'],
  ])('%s', (_name, annotation, configured, want) => {
    expect(lbAlgorithm(svc(annotation), configured)).toBe(want);
  });

  test('carried on the edge frontends; an invalid annotation is warned about with the service name', () => {
    const state = desired([svc('least-conn')], [], undefined, { ...ALL_NODE_ADDRESSES, lbAlgorithm: 'random' });
    expect(state.edgeFrontends.map((f) => f.lbAlgorithm)).toEqual(['random']);
    expect(state.warnings).toEqual([`Service default/web: annotation ${LB_ALGORITHM_ANNOTATION}: "least-conn" is not one of maglev, random; the default applies`]);
  });
});
