// The model's output: what the datapath should serve. One frontend per
// (service address, port, protocol), each with its complete backend set.
import { formatAddrPort } from './ip_address';
import { compareStrings } from './order';
import { Protocol } from './protocol';

export interface BackendAddr {
  addr: string;
  port: number;
}

export interface Frontend {
  addr: string;
  port: number;
  proto: Protocol;
  /** "namespace/name" of the service, for logs and errors. */
  serviceName: string;
  /** Name of the service port ("" when the service has a single unnamed port). */
  portName: string;
  /** ClientIP affinity timeout in seconds; 0 = no affinity. */
  affinityTimeout: number;
  /** Sorted, unique. Empty: the datapath refuses connections (kube-proxy's REJECT). */
  backends: BackendAddr[];
}

/** Identity of a frontend; addr must be canonical. */
export function frontendKey(f: { addr: string; port: number; proto: Protocol }): string {
  return `${f.addr}|${f.port}|${f.proto}`;
}

/** "198.19.0.10:80/TCP", "[fd00:198:18::10]:53/UDP". */
export function formatFrontend(f: { addr: string; port: number; proto: Protocol }): string {
  return `${formatAddrPort(f.addr, f.port)}/${f.proto}`;
}

export function backendKey(b: BackendAddr): string {
  return `${b.addr}|${b.port}`;
}

export function compareBackends(a: BackendAddr, b: BackendAddr): number {
  return compareStrings(a.addr, b.addr) || a.port - b.port;
}
