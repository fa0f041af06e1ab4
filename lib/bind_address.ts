// "IP:port" addresses of kpr's HTTP servers, written as kube-proxy's
// metricsBindAddress and healthzBindAddress are: "127.0.0.1:10249",
// "[::1]:10249", or a bare IP that takes the default port. Port 0 turns the
// server off.
import { canonicalIp } from './model/ip_address';

export interface BindAddress {
  host: string;
  port: number;
}

const HOST_PORT = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d+)$/;

/** undefined: the server is off. Throws a message naming what is wrong. */
export function parseBindAddress(text: string, defaultPort: number): BindAddress | undefined {
  const m = HOST_PORT.exec(text);
  const hostText = m ? (m[1] ?? m[2]) : text;
  const host = canonicalIp(hostText);
  const port = m ? Number(m[3]) : defaultPort;
  if (host === undefined || port > 65535) throw new Error(`${JSON.stringify(text)} is not an IP:port address`);
  return port === 0 ? undefined : { host, port };
}
