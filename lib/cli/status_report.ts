// What `kpr status` reports: whether the agent answers its health check and
// when it last synced, whether each program is where the agent wants it,
// which programs are attached where (cgroup links and the edge LB's
// devices), and how full each pinned map is. Everything but the health check
// is read from the kernel, so it works without the agent.
import * as http from 'http';
import { formatColumns } from './columns';
import { BindAddress } from '../bind_address';
import { AttachmentFinding, hookPlace } from '../datapath/attachment_check';
import { KernelStatus, WantedAttachment } from '../datapath/native';
import { formatAddrPort } from '../model/ip_address';

/** One wanted program in `kpr status -o json`. */
export interface AttachmentRow {
  program: string;
  hook: WantedAttachment['hook'];
  where: string;
  inPlace: boolean;
  /** What its hook holds instead. */
  found?: string;
}

export function attachmentRows(findings: AttachmentFinding[]): AttachmentRow[] {
  return findings.map(({ wanted: w, found }) => ({ program: w.program, hook: w.hook, where: hookPlace(w), inPlace: found === undefined, found }));
}

/** 0 only when the agent is healthy and every program is where it wants it:
 *  scripts and probes can act on anything else. */
export function statusExitCode(health: AgentHealth, findings: AttachmentFinding[]): number {
  return health.status === 200 && findings.every((f) => f.found === undefined) ? 0 : 1;
}

export interface AgentHealth {
  address: string;
  /** HTTP status of /healthz; undefined: nothing answered. */
  status?: number;
  lastUpdated?: string;
  error?: string;
}

const HEALTH_TIMEOUT_MS = 2000;

/** The agent's /healthz, as kube-proxy's is read by its probes. */
export function agentHealth(addr: BindAddress): Promise<AgentHealth> {
  // An agent bound to every address answers on loopback.
  const host = addr.host === '0.0.0.0' || addr.host === '::' ? '127.0.0.1' : addr.host;
  const address = formatAddrPort(host, addr.port);
  return new Promise((resolve) => {
    const req = http.get({ host, port: addr.port, path: '/healthz', timeout: HEALTH_TIMEOUT_MS }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        try {
          const j = JSON.parse(body) as { lastUpdated?: string };
          resolve({ address, status: res.statusCode, lastUpdated: j.lastUpdated || undefined });
        } catch {
          resolve({ address, status: res.statusCode, error: 'not a kpr health answer' });
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)));
    req.on('error', (e) => resolve({ address, error: e.message }));
  });
}

function healthLine(h: AgentHealth): string {
  if (h.status === undefined) return `agent: not answering on ${h.address} (${h.error})`;
  const state = h.status === 200 ? 'healthy' : `unhealthy (HTTP ${h.status})`;
  return `agent: ${state} on ${h.address}, last sync ${h.lastUpdated ?? 'never'}`;
}

function programsSection(findings: AttachmentFinding[]): string {
  if (findings.length === 0) return 'programs: no record of where the agent wants them (no agent has run with this --bpf-root)\n';
  const missing = attachmentRows(findings).filter((r) => !r.inPlace);
  if (missing.length === 0) return `programs: all ${findings.length} where the agent wants them\n`;
  const table = formatColumns(['PROGRAM', 'HOOK', 'WHERE', 'FOUND INSTEAD'], missing.map((r) => [r.program, r.hook, r.where, r.found ?? '']));
  return `programs: ${missing.length} of ${findings.length} not where the agent wants them\n${table}`;
}

export function formatStatus(health: AgentHealth, k: KernelStatus, findings: AttachmentFinding[]): string {
  const links = k.links.length
    ? formatColumns(['LINK', 'PROGRAM', 'ATTACH', 'CGROUP ID'], k.links.map((l) => [l.name, l.program || '(none)', l.attachType, String(l.cgroupId)]))
    : 'no pinned links\n';
  const devices = k.devices.length
    ? formatColumns(['DEVICE', 'XDP', 'TC INGRESS', 'TC EGRESS'], k.devices.map((d) => [d.device, d.xdp ? `${d.xdp} (${d.xdpMode})` : '-', d.tcIngress ?? '-', d.tcEgress ?? '-']))
    : 'no XDP or tc programs on this namespace\'s devices\n';
  const maps = formatColumns(
    ['MAP', 'TYPE', 'ENTRIES', 'CAPACITY', 'USE'],
    k.maps.map((m) => [m.name, m.type, m.entries === undefined ? '-' : String(m.entries), String(m.maxEntries), m.entries === undefined ? '-' : `${((100 * m.entries) / m.maxEntries).toFixed(1)}%`]),
  );
  return `${healthLine(health)}\n${programsSection(findings)}\n${links}\n${devices}\n${maps}`;
}
