// Validation of a v1 Node, for what the proxy reads: its name and labels
// (metadata), whether it is going away (deletionTimestamp, taint keys: the
// proxy's health follows them) and its IP addresses. Addresses of the other types (Hostname,
// InternalDNS, ExternalDNS) are names, not addresses, and are dropped.
import { Node, NODE_IP_ADDRESS_TYPES, NodeIpAddressType, ObjectMeta } from '../model/objects';
import { FieldReader, Json } from './field_reader';

function ipAddresses(r: FieldReader, v: unknown): { type: NodeIpAddressType; address: string }[] {
  const out: { type: NodeIpAddressType; address: string }[] = [];
  (r.array(v, 'status.addresses') ?? []).forEach((item, i) => {
    const at = `status.addresses[${i}]`;
    const a = r.required(r.object(item, at), at);
    const type = r.required(r.string(a.type, `${at}.type`), `${at}.type`);
    const address = r.required(r.string(a.address, `${at}.address`), `${at}.address`);
    const ipType = NODE_IP_ADDRESS_TYPES.find((t) => t === type);
    if (ipType) out.push({ type: ipType, address: r.required(r.ip(address, `${at}.address`), `${at}.address`) });
  });
  return out;
}

function taintKeys(r: FieldReader, v: unknown): { key: string }[] {
  return (r.array(v, 'spec.taints') ?? []).map((item, i) => {
    const at = `spec.taints[${i}]`;
    return { key: r.required(r.string(r.required(r.object(item, at), at).key, `${at}.key`), `${at}.key`) };
  });
}

export function decodeNode(r: FieldReader, metadata: ObjectMeta, doc: Json): Node {
  const deletionTimestamp = r.string(r.object(doc.metadata, 'metadata')?.deletionTimestamp, 'metadata.deletionTimestamp');
  const taints = taintKeys(r, r.object(doc.spec, 'spec')?.taints);
  const status = r.object(doc.status, 'status');
  return {
    metadata: deletionTimestamp === undefined ? metadata : { ...metadata, deletionTimestamp },
    ...(taints.length > 0 ? { spec: { taints } } : {}),
    status: { addresses: ipAddresses(r, status?.addresses) },
  };
}
