// Images reach the nodes as archives, never from a registry (none is reachable):
// scripts/build-images.sh leaves docker-save/OCI tars in imagesDir(), and each
// node's containerd imports them into the CRI's namespace, k8s.io, under the
// names they carry. An archive is imported again only when it changed.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { waitFor } from './daemon';
import { say } from './log';
import { NodeLayout, SANDBOX_IMAGE, imagesDir } from './layout';
import { containerdName, containerdSocket } from './node';

export function ctr(node: NodeLayout, args: string[], timeoutMs = 30_000): string {
  return execFileSync('ctr', ['--address', containerdSocket(node), '--namespace', 'k8s.io', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
  });
}

export async function waitContainerd(node: NodeLayout): Promise<void> {
  await waitFor(`containerd on ${node.name}`, containerdName(node), async () => {
    try {
      ctr(node, ['version'], 5_000);
      return true;
    } catch {
      return false;
    }
  }, 60_000);
}

function archives(): string[] {
  const dir = imagesDir();
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.tar')).sort().map((f) => path.join(dir, f)) : [];
}

export function importImages(node: NodeLayout): void {
  const stampFile = path.join(node.dir, 'imported.json');
  let stamps: Record<string, string> = {};
  try {
    stamps = JSON.parse(fs.readFileSync(stampFile, 'utf8'));
  } catch {
    // first import
  }
  for (const file of archives()) {
    const st = fs.statSync(file);
    const stamp = `${st.size}:${st.mtimeMs}`;
    if (stamps[file] === stamp) continue;
    say(`importing ${path.basename(file)} into ${node.name}`);
    ctr(node, ['images', 'import', file], 300_000);
    stamps[file] = stamp;
    fs.writeFileSync(stampFile, JSON.stringify(stamps, null, 2));
  }
  const names = ctr(node, ['images', 'list', '--quiet']).split('\n');
  if (!names.includes(SANDBOX_IMAGE)) {
    throw new Error(
      `${node.name} has no ${SANDBOX_IMAGE} (the pods' sandbox): no archive of it in ${imagesDir()}; ` +
        'scripts/build-images.sh (make images) builds it',
    );
  }
}
