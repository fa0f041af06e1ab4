// A service annotation that picks one of a few values, such as Cilium's
// per-service settings. A value outside them is the user's mistake, not the
// cluster's: it is reported with the service's name and the default applies,
// so one bad annotation never stops the service from being served.
import { objectName, Service } from './objects';

export interface Choice<T extends string> {
  /** undefined: not annotated, or not validly: the default applies. */
  value?: T;
  warning?: string;
}

export function annotationChoice<T extends string>(svc: Service, key: string, values: readonly T[]): Choice<T> {
  const raw = svc.metadata.annotations[key];
  if (raw === undefined) return {};
  const value = values.find((v) => v === raw.trim().toLowerCase());
  if (value !== undefined) return { value };
  return {
    warning: `Service ${objectName(svc.metadata)}: annotation ${key}: ${JSON.stringify(raw)} is not one of ${values.join(', ')}; the default applies`,
  };
}
