// One manifest file read and cut into parsed documents: the part of a
// file's reload that needs no state of the source, so that a worker thread
// can do it for many files at once (manifest_read_ahead.ts).
import { hash } from 'crypto';
import * as fs from 'fs';
import { manifestChunks, parseChunk, ParseError } from './manifest_parse';

/** One document's text, by its digest; docs is left out when the caller
 *  already holds that digest's documents. */
export interface ReadChunk {
  digest: string;
  line: number;
  docs?: unknown[];
}

/** A file's text as documents, or why it gave none. */
export type ManifestRead =
  | { chunks: ReadChunk[] }
  | { parseError: { line?: number; reason: string } }
  | { readError: { code?: string; message: string } };

/** One call, no Hash object: 0.95 against 1.6 us a chunk (200k chunks at 100k services). */
function textDigest(text: string): string {
  return hash('sha256', text, 'base64');
}

/** file (whose name within its directory is name) read and parsed, but for
 *  the chunks whose digest is cached. */
export function readManifest(file: string, name: string, cached: (digest: string) => boolean = () => false): ManifestRead {
  let text: string;
  try {
    // Read at once: the parse that follows holds the thread anyway, and the
    // promise API's round trips per file made up most of a 100k-file start
    // (40 of 52 s, measured).
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { readError: { code: (e as NodeJS.ErrnoException).code, message: (e as Error).message } };
  }
  const chunks: ReadChunk[] = [];
  const parsed = new Set<string>();
  try {
    for (const chunk of manifestChunks(text, name)) {
      const digest = textDigest(chunk.text);
      const known = parsed.has(digest) || cached(digest);
      chunks.push({ digest, line: chunk.line, docs: known ? undefined : parseChunk(chunk, name) });
      parsed.add(digest);
    }
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    return { parseError: { line: e.line, reason: e.reason } };
  }
  return { chunks };
}
