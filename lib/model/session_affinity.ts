// ClientIP session affinity. The API defaults the timeout to 3 hours when
// affinity is ClientIP and accepts 1 second to 1 day.
import { ServiceSpec } from './objects';

export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
export const MAX_AFFINITY_TIMEOUT_SECONDS = 86400;

/** Affinity timeout in seconds for the service's frontends; 0 = no affinity. */
export function affinityTimeout(spec: ServiceSpec): number {
  if (spec.sessionAffinity !== 'ClientIP') return 0;
  return spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS;
}
