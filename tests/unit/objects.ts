// Builders of typed objects and node contexts for model tests.
import { NodeAddresses } from '../../lib/model/backend_location';
import { desiredFrontends } from '../../lib/model/desired';
import { Frontend } from '../../lib/model/frontend';
import { ModelConfig, NodeContext } from '../../lib/model/node';
import { Endpoint, EndpointPort, EndpointSlice, Service, ServiceSpec, ServiceStatus } from '../../lib/model/objects';
import { SERVICE_NAME_LABEL } from '../../lib/model/service_slices';
import { ZONE_LABEL } from '../../lib/model/topology';

export function service(name: string, spec: ServiceSpec, namespace = 'default', status?: ServiceStatus): Service {
  return { metadata: { name, namespace, labels: {}, annotations: {} }, spec, status };
}

export function slice(
  name: string,
  svc: string,
  addressType: EndpointSlice['addressType'],
  endpoints: Endpoint[],
  ports: EndpointPort[],
  namespace = 'default',
): EndpointSlice {
  return { metadata: { name, namespace, labels: { [SERVICE_NAME_LABEL]: svc }, annotations: {} }, addressType, endpoints, ports };
}

export function ep(addr: string, conditions?: Endpoint['conditions'], more: Omit<Endpoint, 'address' | 'conditions'> = {}): Endpoint {
  return { address: addr, conditions, ...more };
}

/** This node: node-a in zone-a unless told otherwise; zone null: no zone
 *  label. Its interfaces hold no address unless told. */
export function node(addresses: string[] = ['198.18.0.1', 'fd00:198:18::1'], name = 'node-a', zone: string | null = 'zone-a', interfaceAddresses: string[] = []): NodeContext {
  return { name, labels: zone === null ? {} : { [ZONE_LABEL]: zone }, addresses, interfaceAddresses };
}

export const ALL_NODE_ADDRESSES: ModelConfig = { nodePortAddresses: [], lbMode: 'snat', lbAlgorithm: 'maglev', lbSourceRangeAllTypes: false, externalClusterIP: false, localhostNodePorts: false, podPath: false };

/** Both views of the desired state for some services on this node. */
export function desired(services: Service[], slices: EndpointSlice[] = [], on: NodeContext = node(), config: ModelConfig = ALL_NODE_ADDRESSES, nodes?: NodeAddresses) {
  return desiredFrontends(services, slices, on, config, nodes);
}

/** A ClusterIP frontend of default/web with no backends, changed by more. */
export function frontend(more: Partial<Frontend> = {}): Frontend {
  return {
    kind: 'ClusterIP',
    addr: '198.19.0.10',
    port: 80,
    proto: 'TCP',
    serviceName: 'default/web',
    portName: '',
    affinityTimeout: 0,
    backends: [],
    externalBackends: [],
    sourceRanges: [],
    ...more,
  };
}
