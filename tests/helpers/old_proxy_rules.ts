// What kube-proxy's nftables mode writes on a node for a service, in shape
// (not its text): a random pick per connection among the endpoints, DNAT to
// it for the NodePorts (prerouting) and the ClusterIPs (output), masquerade
// of what was translated and leaves by the node's device. The datapath tests
// of a handover between kube-proxy and kpr (migration and rollback) run the
// other proxy with it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { EdgeHost, EdgeNode } from './edge_topology';
import { run } from './run';

export type Family = 'ipv4' | 'ipv6';

export interface OldProxyPort {
  proto: 'tcp' | 'udp';
  port: number;
  nodePort: number;
  target: number;
}

export interface OldProxyService {
  /** Its ClusterIP per family (families not given have none). */
  clusterIps: Partial<Record<Family, string>>;
  ports: OldProxyPort[];
  backends: EdgeHost[];
}

export function oldProxyRules(table: string, node: EdgeNode, svc: OldProxyService): string {
  const chains: string[] = [];
  const pre: string[] = [];
  const out: string[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    const l3 = family === 'ipv4' ? 'ip' : 'ip6';
    for (const { proto, port, nodePort, target } of svc.ports) {
      const chain = `svc_${family}_${proto}`;
      const eps = svc.backends.map((b, i) => {
        const to = family === 'ipv4' ? `${b.ipv4}:${target}` : `[${b.ipv6}]:${target}`;
        chains.push(`chain ${chain}_ep${i} { meta l4proto ${proto} dnat ${l3} to ${to}; }`);
        return `${i} : goto ${chain}_ep${i}`;
      });
      chains.push(`chain ${chain} { numgen random mod ${eps.length} vmap { ${eps.join(', ')} }; }`);
      pre.push(`${l3} daddr ${node[family]} ${proto} dport ${nodePort} goto ${chain}`);
      const clusterIp = svc.clusterIps[family];
      if (clusterIp) out.push(`${l3} daddr ${clusterIp} ${proto} dport ${port} goto ${chain}`);
    }
  }
  return [
    `table inet ${table} {`,
    ...chains,
    `chain prerouting { type nat hook prerouting priority dstnat; ${pre.join('; ')}; }`,
    ...(out.length > 0 ? [`chain output { type nat hook output priority -100; ${out.join('; ')}; }`] : []),
    `chain postrouting { type nat hook postrouting priority srcnat; oifname "${node.device}" ct status dnat masquerade; }`,
    '}',
    '',
  ].join('\n');
}

/** Runs an nft script in the namespace ns. */
export function nftIn(ns: string, script: string): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-nft-'));
  try {
    const file = path.join(dir, 'rules.nft');
    fs.writeFileSync(file, script);
    run('ip', ['netns', 'exec', ns, 'nft', '-f', file]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
