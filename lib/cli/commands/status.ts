// kpr status: the agent's health, where its programs are, how full its maps are
// (status_report.ts decides what is reported and the exit status).
import { parseBindAddress, BindAddress } from '../../bind_address';
import { checkAttachments } from '../../datapath/attachment_check';
import { loadAddon } from '../../datapath/native';
import { pinPaths } from '../../host/bpffs';
import { currentNetns } from '../../host/netns';
import { command } from '../command';
import { CommandSpec, parseFlags, UsageError } from '../flags';
import { pinnedMapDir } from '../pinned_maps';
import { BPF_ROOT, bpfRootFlag, DEFAULT_HEALTHZ, HEALTHZ_PORT, Output, OUTPUT, outputFlag } from '../shared_flags';
import { agentHealth, attachmentRows, formatStatus, statusExitCode } from '../status_report';

export const STATUS: CommandSpec = {
  name: 'status',
  summary: "the agent's health and last sync, whether each program is where the agent wants it (exit status 1 unless the agent answers healthy and every program is in place), the programs attached and where, and how full each pinned map is",
  flags: [
    BPF_ROOT,
    { name: '--healthz-bind-address', value: 'IP:PORT', help: "the agent's --healthz-bind-address, where its /healthz answers", default: DEFAULT_HEALTHZ },
    OUTPUT,
  ],
};

export interface StatusConfig {
  bpfRoot: string;
  healthz: BindAddress;
  output: Output;
}

export function statusConfig(args: string[]): StatusConfig | 'help' {
  const v = parseFlags(STATUS, args);
  if (v === 'help') return v;
  const raw = v.get('--healthz-bind-address') ?? DEFAULT_HEALTHZ;
  const healthz = parseBindAddress(raw, HEALTHZ_PORT);
  if (!healthz || healthz.port === 0) throw new UsageError(STATUS.name, `flag --healthz-bind-address: ${JSON.stringify(raw)} is not IP:PORT`);
  return { bpfRoot: bpfRootFlag(v), healthz, output: outputFlag(STATUS, v) };
}

async function status(cfg: StatusConfig): Promise<number> {
  const { maps: mapDir, links: linkDir } = pinPaths(cfg.bpfRoot);
  pinnedMapDir(cfg.bpfRoot);
  const kernel = loadAddon().kernelStatus({ mapDir, linkDir });
  const findings = checkAttachments(kernel.wanted, kernel, currentNetns());
  const health = await agentHealth(cfg.healthz);
  process.stdout.write(cfg.output === 'json' ? `${JSON.stringify({ agent: health, ...kernel, attachments: attachmentRows(findings) }, null, 2)}\n` : formatStatus(health, kernel, findings));
  return statusExitCode(health, findings);
}

export const statusCommand = command(STATUS, statusConfig, status);
