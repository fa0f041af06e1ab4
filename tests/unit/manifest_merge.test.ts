import { KubeObject } from '../../lib/sources/decode_object';
import { SERVICE_PROXY_NAME_LABEL } from '../../lib/sources/kubernetes_filters';
import { ManifestChange, ManifestMerge } from '../../lib/sources/manifest_merge';
import { service } from './objects';

const svc = (name: string, ip: string, labels: Record<string, string> = {}): KubeObject => {
  const s = service(name, { clusterIP: ip, ports: [{ port: 80 }] });
  return { kind: 'Service', object: { ...s, metadata: { ...s.metadata, labels } } };
};
const id = (name: string) => `Service default/${name}`;
const file = (...objects: [string, KubeObject][]) => new Map(objects.map(([name, o]) => [id(name), o]));
const shown = (changes: ManifestChange[]) =>
  changes.map((c) => `${c.identity}: ${c.was?.kind === 'Service' ? c.was.object.spec.clusterIP : '-'} -> ${c.now?.kind === 'Service' ? c.now.object.spec.clusterIP : '-'}`).sort();

describe('manifest merge', () => {
  test('a file read again hands on only the objects whose definition changed', () => {
    const m = new ManifestMerge();
    const a = svc('a', '198.19.0.1');
    const b = svc('b', '198.19.0.2');
    m.setFile('x.yaml', file(['a', a], ['b', b]));
    expect(shown(m.take())).toEqual([`${id('a')}: - -> 198.19.0.1`, `${id('b')}: - -> 198.19.0.2`]);
    // b is the same object (its text did not change): only a is handed on.
    m.setFile('x.yaml', file(['a', svc('a', '198.19.0.3')], ['b', b]));
    expect(shown(m.take())).toEqual([`${id('a')}: 198.19.0.1 -> 198.19.0.3`]);
    m.setFile('x.yaml', file(['b', b]));
    expect(shown(m.take())).toEqual([`${id('a')}: 198.19.0.3 -> -`]);
    m.setFile('x.yaml', undefined);
    expect(shown(m.take())).toEqual([`${id('b')}: 198.19.0.2 -> -`]);
    expect(m.take()).toEqual([]);
  });

  test('an object defined in two files comes from the first by name, whatever the order they are read in; the other takes over when it goes', () => {
    const m = new ManifestMerge();
    m.setFile('b.yaml', file(['a', svc('a', '198.19.0.2')]));
    m.setFile('a.yaml', file(['a', svc('a', '198.19.0.1')]));
    expect(shown(m.take())).toEqual([`${id('a')}: - -> 198.19.0.1`]);
    expect(m.duplicates()).toEqual([`${id('a')} is defined in a.yaml and b.yaml; using a.yaml`]);
    m.setFile('b.yaml', file(['a', svc('a', '198.19.0.3')]));
    expect(m.take()).toEqual([]);
    m.setFile('a.yaml', undefined);
    expect(shown(m.take())).toEqual([`${id('a')}: 198.19.0.1 -> 198.19.0.3`]);
    expect(m.duplicates()).toEqual([]);
  });

  test("another proxy's objects are not served and are counted; a label change serves or withdraws one", () => {
    const m = new ManifestMerge('kpr');
    const ours = { [SERVICE_PROXY_NAME_LABEL]: 'kpr' };
    const theirs = { [SERVICE_PROXY_NAME_LABEL]: 'other' };
    m.setFile('x.yaml', file(['a', svc('a', '198.19.0.1', ours)], ['b', svc('b', '198.19.0.2', theirs)], ['c', svc('c', '198.19.0.3')]));
    expect(shown(m.take())).toEqual([`${id('a')}: - -> 198.19.0.1`]);
    expect(m.unclaimedCount).toBe(2);
    m.setFile('x.yaml', file(['a', svc('a', '198.19.0.1', theirs)], ['b', svc('b', '198.19.0.2', ours)], ['c', svc('c', '198.19.0.3')]));
    expect(shown(m.take())).toEqual([`${id('a')}: 198.19.0.1 -> -`, `${id('b')}: - -> 198.19.0.2`]);
    expect(m.unclaimedCount).toBe(2);
    m.setFile('x.yaml', undefined);
    expect(shown(m.take())).toEqual([`${id('b')}: 198.19.0.2 -> -`]);
    expect(m.unclaimedCount).toBe(0);
  });
});
