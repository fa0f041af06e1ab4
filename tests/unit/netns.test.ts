import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { networkNamespaces } from '../../lib/host/netns';

test('one path per namespace, told apart by device and inode; unreadable entries are skipped', () => {
  const proc = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-proc-'));
  try {
    fs.writeFileSync(path.join(proc, 'ns-a'), '');
    fs.writeFileSync(path.join(proc, 'ns-b'), '');
    const pid = (n: string, target?: string) => {
      fs.mkdirSync(path.join(proc, n, 'ns'), { recursive: true });
      if (target) fs.symlinkSync(path.join(proc, target), path.join(proc, n, 'ns', 'net'));
    };
    pid('1', 'ns-a');
    pid('20', 'ns-b');
    pid('300', 'ns-a');
    pid('4000');
    pid('self', 'ns-b');
    expect(networkNamespaces(proc).sort()).toEqual([`${proc}/1/ns/net`, `${proc}/20/ns/net`]);
  } finally {
    fs.rmSync(proc, { recursive: true, force: true });
  }
});

test('finds at least this process namespace on the real /proc', () => {
  expect(networkNamespaces().length).toBeGreaterThan(0);
});
