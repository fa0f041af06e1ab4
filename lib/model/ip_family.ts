// Dual-stack: each cluster IP is served by the endpoints of its own family;
// FQDN slices serve no IP frontend.
import { IpFamily } from './ip_address';
import { EndpointSlice } from './objects';

export function slicesOfFamily(slices: EndpointSlice[], family: IpFamily): EndpointSlice[] {
  return slices.filter((s) => s.addressType === family);
}
