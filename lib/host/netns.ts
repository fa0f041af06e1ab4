// Network namespaces. Every one on the node, found through the processes
// that live in them: a connected UDP socket to a removed backend can sit in
// any pod, and the socket iterator only walks the namespace it runs in. And
// the caller's own, where the devices it names are.
import * as fs from 'fs';

/** One /proc/PID/ns/net path per distinct namespace (by device and inode). */
export function networkNamespaces(proc = '/proc'): string[] {
  const seen = new Set<string>();
  const paths: string[] = [];
  for (const pid of fs.readdirSync(proc)) {
    if (!/^\d+$/.test(pid)) continue;
    const p = `${proc}/${pid}/ns/net`;
    try {
      const st = fs.statSync(p);
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) continue;
      seen.add(id);
      paths.push(p);
    } catch {
      // The process exited while we looked, or is not ours to inspect.
    }
  }
  return paths;
}

/** The inode of the caller's network namespace: device names and ifindexes
 *  mean something only within it. */
export function currentNetns(): number {
  return fs.statSync('/proc/self/ns/net').ino;
}
