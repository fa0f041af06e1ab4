// The name of the node kpr runs on, found as kube-proxy finds it: an explicit
// override (--hostname-override, or hostnameOverride in the config file), else
// NODE_NAME (what a DaemonSet passes from spec.nodeName), else the host name;
// trimmed and lowercased, since Node names are lowercase.
import * as os from 'os';

export function nodeName(override: string | undefined, env: NodeJS.ProcessEnv = process.env, hostname: () => string = os.hostname): string {
  const name = (override || env.NODE_NAME || hostname()).trim().toLowerCase();
  if (name === '') throw new Error('the node name is empty: set --hostname-override or NODE_NAME');
  return name;
}
