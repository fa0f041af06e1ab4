// Every resource a test makes (network namespace, cgroup, bpf root) is named
// kprt-<owner pid>-<random>-<prefix>. Parallel and leftover runs never collide,
// and a sweep can tell leftovers of a process that no longer exists.
import { randomBytes } from 'crypto';

const NAME_PATTERN = 'kprt-(\\d+)-[0-9a-f]{6}-';

export function newName(prefix: string, owner: number = process.pid): string {
  if (!/^[a-z0-9][a-z0-9-]{0,23}$/.test(prefix)) {
    throw new Error(`test resource prefix must be 1-24 of [a-z0-9-], got ${JSON.stringify(prefix)}`);
  }
  return `kprt-${owner}-${randomBytes(3).toString('hex')}-${prefix}`;
}

/** The pid a resource name belongs to, or undefined for names we did not make. */
export function ownerOf(name: string): number | undefined {
  const m = new RegExp(`^${NAME_PATTERN}`).exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Owners of every resource name mentioned anywhere in text (a path, a flag). */
export function ownersMentioned(text: string): number[] {
  return [...text.matchAll(new RegExp(NAME_PATTERN, 'g'))].map((m) => Number(m[1]));
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
