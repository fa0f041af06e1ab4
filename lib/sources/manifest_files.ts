// Which files of a manifest directory are read. Names starting with a dot
// are skipped: editors keep swap, backup and lock files there.
import * as path from 'path';

const EXTENSIONS = ['.yaml', '.yml', '.json'];

export function isManifestFile(name: string): boolean {
  return !path.basename(name).startsWith('.') && EXTENSIONS.includes(path.extname(name));
}
