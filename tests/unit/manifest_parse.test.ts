import { manifestChunks, parseChunk, ParseError } from '../../lib/sources/manifest_parse';

const parseManifest = (text: string, file: string) => manifestChunks(text, file).flatMap((c) => parseChunk(c, file));

function parseError(text: string, file: string): ParseError {
  try {
    parseManifest(text, file);
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw e;
  }
  throw new Error('parsed');
}

describe('manifest documents', () => {
  test('YAML: several documents, empty ones dropped', () => {
    const text = '---\nkind: Service\n---\n---\nkind: EndpointSlice\n...\n';
    expect(parseManifest(text, 'a.yaml')).toEqual([{ kind: 'Service' }, { kind: 'EndpointSlice' }]);
  });

  test('YAML keeps version-like and date-like strings as strings', () => {
    expect(parseManifest('a: 2024-01-01\nb: "1.10"\nc: 010\n', 'a.yml')).toEqual([{ a: '2024-01-01', b: '1.10', c: 10 }]);
  });

  test('a v1 List expands to its items, in YAML and JSON', () => {
    const list = { apiVersion: 'v1', kind: 'List', items: [{ kind: 'Service' }, { kind: 'EndpointSlice' }] };
    expect(parseManifest(JSON.stringify(list), 'a.json')).toEqual(list.items);
    expect(parseManifest(`kind: ConfigMap\n---\n${JSON.stringify(list)}\n`, 'a.yaml')).toEqual([{ kind: 'ConfigMap' }, ...list.items]);
  });

  test('JSON: one object', () => {
    expect(parseManifest('{"kind": "Service"}', 'a.json')).toEqual([{ kind: 'Service' }]);
  });

  test('YAML is cut into documents at lines starting with ---, each knowing its first line', () => {
    const text = 'a: 1\n---\nb: |\n  --- not a marker\n---  # comment\nc: 3\n--- {d: 4}\n';
    expect(manifestChunks(text, 'a.yaml')).toEqual([
      { text: 'a: 1', line: 1 },
      { text: '---\nb: |\n  --- not a marker', line: 2 },
      { text: '---  # comment\nc: 3', line: 5 },
      { text: '--- {d: 4}\n', line: 7 },
    ]);
    expect(parseManifest(text, 'a.yaml')).toEqual([{ a: 1 }, { b: '--- not a marker\n' }, { c: 3 }, { d: 4 }]);
  });

  test('text with directives and JSON files are not cut', () => {
    expect(manifestChunks('%YAML 1.2\n---\na: 1\n---\nb: 2\n', 'a.yaml')).toHaveLength(1);
    expect(manifestChunks('{"a":\n"---"}\n---\n', 'a.json')).toHaveLength(1);
  });

  test('YAML errors carry the line of the file, not of the document', () => {
    const e = parseError('a: 1\n---\nb: 2\n---\nkind: Service\nmetadata:\n  name: a\n   namespace: b\n', 'a.yaml');
    expect(e.line).toBe(8);
  });

  test('YAML errors carry the line', () => {
    const e = parseError('kind: Service\nmetadata:\n  name: a\n   namespace: b\n', 'a.yaml');
    expect(e.line).toBe(4);
    expect(e.message).toMatch(/^line 4: /);
  });

  test('JSON errors carry the line when the parser gives a position', () => {
    const e = parseError('{\n  "kind": "Service",\n  "metadata" {}\n}\n', 'a.json');
    expect(e.line).toBe(3);
  });
});
