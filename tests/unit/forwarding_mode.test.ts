import { FORWARDING_MODE_ANNOTATION, forwardingMode, LbMode } from '../../lib/model/forwarding_mode';
import { Protocol } from '../../lib/model/protocol';
import { ALL_NODE_ADDRESSES, desired, service } from './objects';

const svc = (annotation?: string) => {
  const s = service('web', { type: 'NodePort', clusterIP: '198.19.0.10', ports: [{ port: 80, nodePort: 30080 }] });
  if (annotation !== undefined) s.metadata.annotations[FORWARDING_MODE_ANNOTATION] = annotation;
  return s;
};

describe('forwarding mode', () => {
  test.each<[string, string | undefined, LbMode, Protocol, string]>([
    ['--bpf-lb-mode snat', undefined, 'snat', 'TCP', 'snat'],
    ['--bpf-lb-mode dsr', undefined, 'dsr', 'UDP', 'dsr'],
    ['hybrid: DSR for TCP', undefined, 'hybrid', 'TCP', 'dsr'],
    ['hybrid: SNAT for UDP', undefined, 'hybrid', 'UDP', 'snat'],
    ['hybrid: SNAT for SCTP', undefined, 'hybrid', 'SCTP', 'snat'],
    ['the annotation wins', 'dsr', 'snat', 'UDP', 'dsr'],
    ['the annotation wins over hybrid', 'snat', 'hybrid', 'TCP', 'snat'],
    ['annotation values are lower-cased, as Cilium does', ' DSR ', 'snat', 'TCP', 'dsr'],
    ['an invalid annotation: the default applies', 'geneve', 'hybrid', 'TCP', 'dsr'],
  ])('%s', (_name, annotation, lbMode, proto, want) => {
    expect(forwardingMode(svc(annotation), proto, lbMode)).toBe(want);
  });

  test('carried on the edge frontends; an invalid annotation is warned about with the service name', () => {
    const state = desired([svc('bogus')], [], undefined, { ...ALL_NODE_ADDRESSES, lbMode: 'dsr' });
    expect(state.edgeFrontends.map((f) => f.forwardingMode)).toEqual(['dsr']);
    expect(state.warnings).toEqual([`Service default/web: annotation ${FORWARDING_MODE_ANNOTATION}: "bogus" is not one of dsr, snat; the default applies`]);
  });

  test('a service without external frontends is not warned about', () => {
    const s = service('web', { clusterIP: '198.19.0.10', ports: [{ port: 80 }] });
    s.metadata.annotations[FORWARDING_MODE_ANNOTATION] = 'bogus';
    expect(desired([s]).warnings).toEqual([]);
  });
});
