// Certificates and kubeconfigs for the control planes that tests and
// `make cluster` start: one CA signs every serving and client certificate, so
// each component trusts the others through the same --client-ca-file.
import * as fs from 'fs';
import * as path from 'path';
import { run } from '../helpers/run';

export interface Ca {
  cert: string;
  key: string;
}

export interface KeyPair {
  cert: string;
  key: string;
}

export function ecKey(file: string): void {
  run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
}

export function makeCa(dir: string, cn: string, days: string): Ca {
  const ca = { cert: path.join(dir, 'ca.crt'), key: path.join(dir, 'ca.key') };
  ecKey(ca.key);
  run('openssl', [
    'req', '-x509', '-new', '-key', ca.key, '-subj', `/CN=${cn}`, '-days', days, '-out', ca.cert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return ca;
}

export interface LeafOptions {
  /** openssl's subject form: '/O=system:masters/CN=admin'. */
  subject: string;
  usage: 'serverAuth' | 'clientAuth';
  /** subjectAltName entries, 'IP:...' / 'DNS:...' (serving certificates). */
  sans?: string[];
  days: string;
}

/** <dir>/<name>.crt and .key, signed by ca. */
export function issue(ca: Ca, dir: string, name: string, opts: LeafOptions): KeyPair {
  const pair = { cert: path.join(dir, `${name}.crt`), key: path.join(dir, `${name}.key`) };
  ecKey(pair.key);
  const ext = [`extendedKeyUsage=${opts.usage}`];
  if (opts.sans?.length) ext.push(`subjectAltName=${opts.sans.join(',')}`);
  run('openssl', [
    'req', '-x509', '-new', '-key', pair.key, '-CA', ca.cert, '-CAkey', ca.key, '-subj', opts.subject, '-days', opts.days,
    '-out', pair.cert, '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature',
    ...ext.flatMap((e) => ['-addext', e]),
  ]);
  return pair;
}

/** The service-account signing key and its public half (sa.key, sa.pub). */
export function serviceAccountKeys(dir: string): { key: string; pub: string } {
  const keys = { key: path.join(dir, 'sa.key'), pub: path.join(dir, 'sa.pub') };
  ecKey(keys.key);
  run('openssl', ['pkey', '-in', keys.key, '-pubout', '-out', keys.pub]);
  return keys;
}

export function writeKubeconfig(file: string, name: string, server: string, caCert: string, client: KeyPair): void {
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority: ${caCert}`,
    'users:',
    `- name: ${name}`,
    '  user:',
    `    client-certificate: ${client.cert}`,
    `    client-key: ${client.key}`,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${name}`,
    `current-context: ${name}`,
    '',
  ].join('\n');
  fs.writeFileSync(file, text, { mode: 0o600 });
}
