// Typed reads of one object's untyped fields (parsed YAML/JSON). Each read
// names the field path, so any failure becomes an ObjectError pointing at the
// exact field. null counts as unset, as in the Kubernetes API.
import { canonicalCidr } from '../model/cidr';
import { canonicalIp, IpFamily, ipFamily } from '../model/ip_address';
import { ObjectError } from './object_error';

export type Json = Record<string, unknown>;

export function isJsonObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const SHOWN_MAX = 60;
const DNS_LABEL = /^(?=.{1,63}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** v as JSON, cut at SHOWN_MAX characters. Written out only as far as
 *  shown: the value can be as deep, as large or as shared (YAML aliases
 *  repeat one node any number of times, or hold it in itself) as a manifest
 *  makes it, and stringifying all of it would overflow the stack or never end. */
export function shown(v: unknown): string {
  let out = '';
  const put = (text: string): boolean => {
    out += text.slice(0, SHOWN_MAX + 1 - out.length);
    return out.length <= SHOWN_MAX;
  };
  const write = (x: unknown): boolean => {
    if (Array.isArray(x)) return put('[') && x.every((e, i) => (i === 0 || put(',')) && write(e)) && put(']');
    if (isJsonObject(x)) return put('{') && Object.entries(x).every(([k, e], i) => (i === 0 || put(',')) && put(`${JSON.stringify(k)}:`) && write(e)) && put('}');
    return put(typeof x === 'string' ? JSON.stringify(x.slice(0, SHOWN_MAX + 1)) : String(x));
  };
  write(v);
  return out.length > SHOWN_MAX ? `${out.slice(0, SHOWN_MAX - 3)}...` : out;
}

export class FieldReader {
  constructor(
    readonly kind: string,
    readonly namespace: string,
    readonly name: string,
  ) {}

  fail(field: string, problem: string): never {
    throw new ObjectError(this.kind, this.namespace, this.name, field, problem);
  }

  required<T>(v: T | undefined, field: string): T {
    return v === undefined ? this.fail(field, 'is required') : v;
  }

  object(v: unknown, field: string): Json | undefined {
    if (v === undefined || v === null) return undefined;
    return isJsonObject(v) ? v : this.fail(field, `must be an object, got ${shown(v)}`);
  }

  array(v: unknown, field: string): unknown[] | undefined {
    if (v === undefined || v === null) return undefined;
    return Array.isArray(v) ? v : this.fail(field, `must be a list, got ${shown(v)}`);
  }

  string(v: unknown, field: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    return typeof v === 'string' ? v : this.fail(field, `must be a string, got ${shown(v)}`);
  }

  boolean(v: unknown, field: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    return typeof v === 'boolean' ? v : this.fail(field, `must be true or false, got ${shown(v)}`);
  }

  integer(v: unknown, field: string, min: number, max: number): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
    return this.fail(field, `must be an integer from ${min} to ${max}, got ${shown(v)}`);
  }

  oneOf<T extends string>(v: unknown, field: string, allowed: readonly T[]): T | undefined {
    if (v === undefined || v === null) return undefined;
    if ((allowed as readonly unknown[]).includes(v)) return v as T;
    return this.fail(field, `must be one of ${allowed.join(', ')}, got ${shown(v)}`);
  }

  /** A port's name: an RFC 1123 label, as the API requires, since ports are matched by it. */
  portName(v: unknown, field: string): string | undefined {
    const s = this.string(v, field);
    if (s !== undefined && s !== '' && !DNS_LABEL.test(s)) this.fail(field, `${shown(s)} is not a valid port name (at most 63 lowercase letters, digits and '-')`);
    return s;
  }

  /** A canonical IP address, of the given family when there is one. */
  ip(v: unknown, field: string, family?: IpFamily): string | undefined {
    const s = this.string(v, field);
    if (s === undefined) return undefined;
    const ip = canonicalIp(s);
    if (ip === undefined) return this.fail(field, `${shown(s)} is not a valid IP address`);
    if (family && ipFamily(ip) !== family) return this.fail(field, `${shown(s)} is not an ${family} address`);
    return ip;
  }

  /** A canonical CIDR ("198.18.0.0/15"). */
  cidr(v: unknown, field: string): string | undefined {
    const s = this.string(v, field);
    if (s === undefined) return undefined;
    return canonicalCidr(s) ?? this.fail(field, `${shown(s)} is not a valid CIDR`);
  }
}
