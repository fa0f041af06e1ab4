// Manifest text to documents. YAML files may hold several documents
// separated by "---"; JSON files hold one object; either may be a v1 List,
// whose items count as documents of their own (kubectl get -o yaml output).
//
// YAML text is cut into its documents before parsing, so that a reader can
// keep the results of documents whose text did not change: an edit to one
// service in a file of a thousand re-parses one document, not the file.
import * as yaml from 'js-yaml';
import { isJsonObject } from './field_reader';

export class ParseError extends Error {
  constructor(
    /** 1-based line in the file, when the parser could tell. */
    readonly line: number | undefined,
    readonly reason: string,
  ) {
    super(line === undefined ? reason : `line ${line}: ${reason}`);
    this.name = 'ParseError';
  }
}

/** A document's text and the line of the file it starts on. */
export interface ManifestChunk {
  text: string;
  line: number;
}

// A line starting with "---" always starts a document: YAML forbids it inside
// scalars. Directives (%YAML, %TAG) bind to the next document, so text with
// any is not cut.
const DOCUMENT_START = /\n---(?=[ \t\r\n]|$)/g;
const DIRECTIVE = /^%/m;

function newlines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

export function manifestChunks(text: string, fileName: string): ManifestChunk[] {
  if (fileName.endsWith('.json') || DIRECTIVE.test(text)) return [{ text, line: 1 }];
  const chunks: ManifestChunk[] = [];
  let start = 0;
  let line = 1;
  for (const m of text.matchAll(DOCUMENT_START)) {
    const end = m.index as number;
    chunks.push({ text: text.slice(start, end), line });
    line += newlines(text, start, end + 1);
    start = end + 1;
  }
  chunks.push({ text: text.slice(start), line });
  return chunks;
}

function lineAt(text: string, offset: number): number {
  return 1 + newlines(text, 0, offset);
}

function parseYaml(chunk: ManifestChunk): unknown[] {
  try {
    // The core schema: plain YAML types only, so that an unquoted date or
    // version string never turns into something that is not JSON.
    return yaml.loadAll(chunk.text, undefined, { schema: yaml.CORE_SCHEMA }).map(detached);
  } catch (e) {
    if (e instanceof yaml.YAMLException) throw new ParseError(e.mark ? chunk.line + e.mark.line : undefined, e.reason);
    throw e;
  }
}

/** V8 cuts strings of this many characters or more out of their text as
 *  slices, which keep the whole text alive. */
const SLICED_MIN_LENGTH = 13;

/** doc, with every string the parser cut out of the text copied: each such
 *  slice keeps its whole document alive for as long as the decoded objects
 *  live (a name is enough; measured: 9.5 MB at 10k services). Slicing a
 *  concatenation flattens it into a fresh copy first, so the result refers
 *  to that copy, never to the text. Property names need none: V8 interns
 *  them as copies. */
function detached(doc: unknown): unknown {
  if (typeof doc === 'string') return doc.length < SLICED_MIN_LENGTH ? doc : (' ' + doc).slice(1);
  if (Array.isArray(doc)) {
    for (let i = 0; i < doc.length; i++) doc[i] = detached(doc[i]);
  } else if (doc !== null && typeof doc === 'object') {
    const o = doc as Record<string, unknown>;
    for (const key of Object.keys(o)) o[key] = detached(o[key]);
  }
  return doc;
}

function parseJson(chunk: ManifestChunk): unknown[] {
  try {
    return [JSON.parse(chunk.text)];
  } catch (e) {
    // V8 quotes the text around the error, newlines included.
    const reason = (e as Error).message.replace(/\n/g, '\\n');
    const at = /at position (\d+)/.exec(reason);
    if (at) throw new ParseError(lineAt(chunk.text, Number(at[1])), reason);
    // V8 often gives no position; the YAML parser, reading the same text,
    // usually stops at the same place and knows its line.
    let line: number | undefined;
    try {
      parseYaml(chunk);
    } catch (y) {
      if (y instanceof ParseError) line = y.line;
    }
    throw new ParseError(line, reason);
  }
}

function documents(chunk: ManifestChunk, fileName: string): unknown[] {
  try {
    return fileName.endsWith('.json') ? parseJson(chunk) : parseYaml(chunk);
  } catch (e) {
    // Both parsers recurse per level of nesting: a document nested deeper
    // than the stack allows is refused like any other that does not parse.
    if (e instanceof RangeError) throw new ParseError(chunk.line, `nested too deeply to parse (${e.message})`);
    throw e;
  }
}

/** The documents of one chunk; empty documents are dropped. */
export function parseChunk(chunk: ManifestChunk, fileName: string): unknown[] {
  return documents(chunk, fileName)
    .flatMap((d) => (isJsonObject(d) && d.apiVersion === 'v1' && d.kind === 'List' && Array.isArray(d.items) ? d.items : [d]))
    .filter((d) => d !== null && d !== undefined);
}
