// Builders of typed Services and EndpointSlices for model tests.
import { Endpoint, EndpointPort, EndpointSlice, Service, ServiceSpec } from '../../lib/model/objects';
import { SERVICE_NAME_LABEL } from '../../lib/model/service_slices';

export function service(name: string, spec: ServiceSpec, namespace = 'default'): Service {
  return { metadata: { name, namespace, labels: {} }, spec };
}

export function slice(
  name: string,
  svc: string,
  addressType: EndpointSlice['addressType'],
  endpoints: Endpoint[],
  ports: EndpointPort[],
  namespace = 'default',
): EndpointSlice {
  return { metadata: { name, namespace, labels: { [SERVICE_NAME_LABEL]: svc } }, addressType, endpoints, ports };
}

export function ep(addr: string, conditions?: Endpoint['conditions']): Endpoint {
  return { addresses: [addr], conditions };
}
