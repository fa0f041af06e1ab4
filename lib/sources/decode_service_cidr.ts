// Validation of a networking.k8s.io/v1 ServiceCIDR (KEP-1880), for what the
// proxy reads of it: the CIDRs ClusterIPs are allocated from, one per family
// at most, as the API server validates them.
import { cidrFamily } from '../model/cidr';
import { ObjectMeta, ServiceCIDR } from '../model/objects';
import { FieldReader, Json } from './field_reader';

export function decodeServiceCIDR(r: FieldReader, m: ObjectMeta, doc: Json): ServiceCIDR {
  const spec = r.object(doc.spec, 'spec') ?? {};
  const items = r.array(spec.cidrs, 'spec.cidrs') ?? [];
  if (items.length > 2) r.fail('spec.cidrs', `may hold at most one CIDR per family, got ${items.length}`);
  const cidrs = items.map((item, i) => r.required(r.cidr(item, `spec.cidrs[${i}]`), `spec.cidrs[${i}]`));
  if (cidrs.length === 2 && cidrFamily(cidrs[0]) === cidrFamily(cidrs[1])) r.fail('spec.cidrs', 'may hold at most one CIDR per family');
  return { metadata: m, cidrs };
}
