// Events the agent records in Kubernetes mode: a Warning on a Service that it
// cannot serve as asked (a full BPF map), where `kubectl describe` and event
// exporters look. Recording is best effort: a failed create is logged and
// never holds up a sync.
import { Logger } from '../log';
import { describeError } from './kubernetes_errors';
import { KubeCreator } from './kube_api';

export const EVENT_COMPONENT = 'kpr';

/** A core/v1 Event on the Service "namespace/name", from this node's agent. */
export function serviceEvent(service: string, reason: string, message: string, node: string, now = new Date()) {
  const [namespace, name] = service.split('/');
  const time = now.toISOString().replace(/\.\d+Z$/, 'Z');
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { generateName: `${name}.`, namespace },
    involvedObject: { apiVersion: 'v1', kind: 'Service', namespace, name },
    type: 'Warning',
    reason,
    message,
    source: { component: EVENT_COMPONENT, host: node },
    reportingComponent: EVENT_COMPONENT,
    reportingInstance: node,
    firstTimestamp: time,
    lastTimestamp: time,
    count: 1,
  };
}

export function serviceEventRecorder(api: KubeCreator, node: string, log: Logger) {
  return (service: string, reason: string, message: string): void => {
    const event = serviceEvent(service, reason, message, node);
    api.create(`/api/v1/namespaces/${encodeURIComponent(event.metadata.namespace)}/events`, event).catch((e: unknown) => {
      log.warn(`events: recording ${reason} on Service ${service} failed: ${describeError(e)}`);
    });
  };
}
