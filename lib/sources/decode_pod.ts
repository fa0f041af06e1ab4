// Validation of a v1 Pod and a v1 Namespace, for what the proxy reads of
// them: the node a pod runs on, whether it shares the node's network
// namespace, its phase and addresses, and the container ports it publishes
// on the node (hostPort); of both, the metadata (annotations and labels),
// which may ask the socket LB to leave their pods alone.
import { HostPort, Namespace, ObjectMeta, Pod } from '../model/objects';
import { PROTOCOLS } from '../model/protocol';
import { FieldReader, Json } from './field_reader';

function podIPs(r: FieldReader, v: unknown): { ip: string }[] {
  return (r.array(v, 'status.podIPs') ?? []).map((item, i) => {
    const at = `status.podIPs[${i}]`;
    return { ip: r.required(r.ip(r.required(r.object(item, at), at).ip, `${at}.ip`), `${at}.ip`) };
  });
}

/** Every container's ports that have a hostPort, in order. */
function hostPorts(r: FieldReader, v: unknown): HostPort[] {
  const out: HostPort[] = [];
  (r.array(v, 'spec.containers') ?? []).forEach((c, i) => {
    const at = `spec.containers[${i}]`;
    (r.array(r.required(r.object(c, at), at).ports, `${at}.ports`) ?? []).forEach((item, k) => {
      const pat = `${at}.ports[${k}]`;
      const p = r.required(r.object(item, pat), pat);
      // 0 is the API's "none" (the field's zero value).
      const hostPort = r.integer(p.hostPort, `${pat}.hostPort`, 0, 65535);
      if (!hostPort) return;
      const protocol = r.oneOf(p.protocol, `${pat}.protocol`, PROTOCOLS);
      const hostIP = r.ip(p.hostIP === '' ? undefined : p.hostIP, `${pat}.hostIP`);
      out.push({
        containerPort: r.required(r.integer(p.containerPort, `${pat}.containerPort`, 1, 65535), `${pat}.containerPort`),
        hostPort,
        ...(protocol !== undefined ? { protocol } : {}),
        ...(hostIP !== undefined ? { hostIP } : {}),
      });
    });
  });
  return out;
}

export function decodePod(r: FieldReader, metadata: ObjectMeta, doc: Json): Pod {
  const meta = r.object(doc.metadata, 'metadata');
  const created = r.string(meta?.creationTimestamp, 'metadata.creationTimestamp');
  const spec = r.object(doc.spec, 'spec');
  const nodeName = r.string(spec?.nodeName, 'spec.nodeName');
  const hostNetwork = r.boolean(spec?.hostNetwork, 'spec.hostNetwork');
  const ports = hostPorts(r, spec?.containers);
  const status = r.object(doc.status, 'status');
  const ips = podIPs(r, status?.podIPs);
  const phase = r.string(status?.phase, 'status.phase');
  return {
    metadata: created === undefined ? metadata : { ...metadata, creationTimestamp: created },
    spec: {
      ...(nodeName !== undefined ? { nodeName } : {}),
      ...(hostNetwork !== undefined ? { hostNetwork } : {}),
      ...(ports.length > 0 ? { hostPorts: ports } : {}),
    },
    ...(ips.length > 0 || phase !== undefined ? { status: { ...(ips.length > 0 ? { podIPs: ips } : {}), ...(phase !== undefined ? { phase } : {}) } } : {}),
  };
}

export function decodeNamespace(metadata: ObjectMeta): Namespace {
  return { metadata };
}
