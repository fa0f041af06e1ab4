// A service port finds its endpoint port by name and protocol, like
// kube-proxy: the slice already carries the number a named targetPort
// resolved to on those pods, so different slices may carry different numbers.
import { EndpointSlice, ServicePort } from './objects';
import { protocolOf } from './protocol';

/** The port the slice's endpoints serve the service port on, if any. */
export function endpointPort(sp: ServicePort, slice: EndpointSlice): number | undefined {
  const name = sp.name ?? '';
  const proto = protocolOf(sp.protocol);
  const match = slice.ports?.find(
    (p) => p.port !== undefined && (p.name ?? '') === name && protocolOf(p.protocol) === proto,
  );
  return match?.port;
}
