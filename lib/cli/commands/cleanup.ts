// kpr cleanup (kube-proxy's --cleanup): takes away everything kpr left on the
// node (lib/host/cleanup.ts) and says what; exit status 1 when something
// could not be taken away, or a flow could not be handed to conntrack.
import { loadAddon } from '../../datapath/native';
import { cleanupNode, CleanupReport, kernelCleanupDeps } from '../../host/cleanup';
import { listingCommand, ListingConfig } from '../shared_flags';

export function formatCleanup(r: CleanupReport): string {
  const lines = [
    ...r.handedOver,
    ...r.notHandedOver.map((x) => `could not hand over ${x}`),
    ...r.removed.map((x) => `removed ${x}`),
    ...r.errors.map((x) => `could not remove ${x}`),
  ];
  const total = r.removed.length === 0 && r.errors.length === 0 ? 'nothing of kpr found' : `${r.removed.length} removed, ${r.errors.length} not`;
  return `${[...lines, total].join('\n')}\n`;
}

function cleanup(cfg: ListingConfig): number {
  const addon = loadAddon();
  const report = cleanupNode(
    cfg.bpfRoot,
    kernelCleanupDeps(
      () => addon.detachKprFromDevices(),
      (mapDir) => addon.handOverEdgeFlows(mapDir),
    ),
  );
  process.stdout.write(cfg.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatCleanup(report));
  return report.errors.length > 0 || report.notHandedOver.length > 0 ? 1 : 0;
}

/** kube-proxy's spelling, `--cleanup` among the agent's own flags: the
 *  arguments of `kpr cleanup` it stands for (the agent's --bpf-root kept),
 *  or undefined when the arguments do not ask for it. */
export function cleanupSpelling(args: string[]): string[] | undefined {
  if (!args.some((a) => a === '--cleanup' || a === '--cleanup=true')) return undefined;
  const at = args.findIndex((a) => a === '--bpf-root' || a.startsWith('--bpf-root='));
  if (at < 0) return [];
  return args[at].includes('=') ? [args[at]] : ['--bpf-root', args[at + 1]];
}

export const cleanupCommand = listingCommand(
  'cleanup',
  "take away everything kpr left on this node (kube-proxy's --cleanup), after handing the flows its XDP program carries to the node's conntrack: its XDP and tc programs on this network namespace's devices, its managed neighbour entries, its pinned links and maps; run it after the agent stopped",
  cleanup,
);
