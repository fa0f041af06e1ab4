// Config errors stop kpr at start, naming what is wrong: every flag of
// kpr run and every KubeProxyConfiguration field kpr reads, each with a bad
// value (table-driven, and the tables must cover every flag and field), and
// the real command exiting non-zero before it touches anything.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runConfig } from '../../lib/cli/commands/run';
import { RUN } from '../../lib/cli/commands/run_flags';
import { UsageError } from '../../lib/cli/flags';
import { repoRoot } from '../../lib/datapath/native';
import { APPLIED_FIELDS } from '../../lib/kubeproxy_config';

const HEAD = 'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n';
const noFile = (f: string): string => {
  throw new Error(`ENOENT: no such file or directory, open '${f}'`);
};
const failure = (args: string[], files: Record<string, string> = {}): string => {
  try {
    runConfig(args, {}, (f) => files[f] ?? noFile(f));
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error(`${args.join(' ')}: accepted`);
};

/** A bad value for every flag of kpr run, and what the error must say besides the flag's name. */
const BAD_FLAGS: Record<string, [string, string]> = {
  '--manifests': ['', 'needs a value'],
  '--kubeconfig': ['/none/kubeconfig', 'ENOENT'],
  '--k8s-api-server': ['198.18.170.1:99999', 'port 99999 is not from 1 to 65535'],
  '--config': ['/none/config.yaml', 'ENOENT'],
  '--hostname-override': ['Node_A', 'is not a valid node name'],
  '--service-proxy-name': ['kpr/edge', 'is not a label value'],
  '--nodeport-addresses': ['198.18.0.1', 'is not a CIDR'],
  '--min-sync-period': ['1x', 'must be a duration'],
  '--sync-period': ['-1s', 'must be a duration'],
  '--metrics-bind-address': ['localhost:1', 'is not an IP:port address'],
  '--healthz-bind-address': ['[::1]:70000', 'is not an IP:port address'],
  '--metrics-per-service': ['yes', 'must be one of true, false'],
  '--metrics-kube-proxy-total-gauge': ['1', 'must be one of true, false'],
  '--bpf-root': ['sys/fs/bpf', 'must be an absolute path'],
  '--cgroup-root': ['cgroup', 'must be an absolute path'],
  '--procfs': ['proc', 'must be an absolute path'],
  '--bpf-object-dir': ['build/bpf', 'must be an absolute path'],
  '--bpf-lb-map-max': ['0', 'must be an integer from 1 to'],
  '--bpf-lb-sock-rev-nat-map-max': ['1e6', 'must be an integer from 1 to'],
  '--bpf-fragments-map-max': ['0', 'must be an integer from 1 to'],
  '--bpf-lb-mode': ['dsr-tunl', 'must be one of snat, dsr, hybrid'],
  '--bpf-lb-algorithm': ['rr', 'must be one of maglev, random'],
  '--bpf-lb-maglev-table-size': ['1000', 'must be one of 251'],
  '--bpf-lb-maglev-hash-seed': ['seed', 'must be an unsigned 32-bit integer'],
  '--bpf-lb-source-range-all-types': ['yes', 'must be one of true, false'],
  '--bpf-lb-external-clusterip': ['1', 'must be one of true, false'],
  '--iptables-localhost-nodeports': ['yes', 'must be one of true, false'],
  '--bpf-lb-sock-hostns-only': ['yes', 'must be one of true, false'],
  '--service-no-backend-response': ['ignore', 'must be one of reject, drop'],
  '--bpf-lb-acceleration': ['offload', 'must be one of native, generic'],
  '--devices': ['eth0,,eth1', 'is not a comma-separated list of interface names'],
  '--bpf-lb-pod-interfaces': ['lxc+,veth/1', 'is not auto, none or a comma-separated list of interface names and prefixes'],
  '--bpf-lb-snat-port-range': ['40000-30000', 'is not a port range MIN-MAX within 1-65535'],
  '--conntrack-tcp-timeout-established': ['500ms', 'must be whole seconds from 1s to'],
  '--conntrack-tcp-timeout-syn': ['0s', 'must be whole seconds from 1s to'],
  '--conntrack-tcp-timeout-fin': ['1.5s', 'must be whole seconds from 1s to'],
  '--conntrack-tcp-timeout-close': ['10', 'must be a duration'],
  '--conntrack-udp-timeout': ['9000h', 'must be whole seconds from 1s to'],
  '--conntrack-udp-timeout-stream': ['-2m', 'must be a duration'],
  '--conntrack-gc-interval': ['500ms', 'must be from 1s to'],
  '--conntrack-max-per-core': ['-1', 'must be an integer from 0 to'],
  '--conntrack-min': ['many', 'must be an integer from 0 to'],
  '--conntrack-tcp-timeout-close-wait': ['1 hour', 'must be a duration'],
  '--conntrack-tcp-be-liberal': ['on', 'must be one of true, false'],
  '--log-level': ['trace', 'must be one of error, warn, info, debug'],
};

/** A bad value for every field kpr reads from a KubeProxyConfiguration (YAML), and what the error must say. */
const BAD_FIELDS: Record<string, [string, string]> = {
  apiVersion: ['apiVersion: v1', 'must be kubeproxy.config.k8s.io/v1alpha1'],
  kind: ['kind: KubeletConfiguration', 'must be KubeProxyConfiguration'],
  'clientConnection.kubeconfig': ['clientConnection: {kubeconfig: /none/kubeconfig}', 'ENOENT'],
  hostnameOverride: ['hostnameOverride: "node a"', 'is not a valid node name'],
  healthzBindAddress: ['healthzBindAddress: "0.0.0.0:99999"', 'is not an IP:port address'],
  metricsBindAddress: ['metricsBindAddress: "[::1]:abc"', 'is not an IP:port address'],
  bindAddressHardFail: ['bindAddressHardFail: "yes"', 'must be true or false'],
  mode: ['mode: userspace', 'must be one of iptables, ipvs, nftables'],
  nodePortAddresses: ['nodePortAddresses: [primary, 198.18.0.1]', 'is not a CIDR nor one of the keywords'],
  portRange: ['portRange: [30000, 32767]', 'must be a string'],
  'iptables.syncPeriod': ['iptables: {syncPeriod: 1d}', 'must be a duration'],
  'iptables.minSyncPeriod': ['iptables: {minSyncPeriod: 30}', 'must be a duration'],
  'iptables.localhostNodePorts': ['iptables: {localhostNodePorts: "yes"}', 'must be true or false'],
  'conntrack.maxPerCore': ['conntrack: {maxPerCore: -1}', 'must not be negative'],
  'conntrack.min': ['conntrack: {min: 1.5}', 'must be an integer'],
  'conntrack.tcpEstablishedTimeout': ['conntrack: {tcpEstablishedTimeout: 1d}', 'must be a duration'],
  'conntrack.tcpCloseWaitTimeout': ['conntrack: {tcpCloseWaitTimeout: 3600}', 'must be a duration'],
  'conntrack.tcpBeLiberal': ['conntrack: {tcpBeLiberal: 1}', 'must be true or false'],
  'conntrack.udpTimeout': ['conntrack: {udpTimeout: soon}', 'must be a duration'],
  'conntrack.udpStreamTimeout': ['conntrack: {udpStreamTimeout: []}', 'must be a duration'],
  'nftables.syncPeriod': ['mode: nftables\nnftables: {syncPeriod: 0s}', 'the sync period must be greater than 0'],
  'nftables.minSyncPeriod': ['mode: nftables\nnftables: {minSyncPeriod: 1m, syncPeriod: 30s}', 'must not be shorter than the min sync period'],
  'ipvs.syncPeriod': ['mode: ipvs\nipvs: {syncPeriod: 900000h}', 'is longer than the longest period'],
  'ipvs.minSyncPeriod': ['mode: ipvs\nipvs: {minSyncPeriod: true}', 'must be a duration'],
};

/** The name an error gives a field: its path, or for a sync period its section-free name. */
const shownAs = (field: string) => (/^(nftables|ipvs)\.(min)?[sS]ync/.test(field) && !/must be a duration/.test(BAD_FIELDS[field][1]) ? field.split('.')[1] : field);

describe('every kpr run flag with a bad value fails, naming the flag', () => {
  test('the table covers every flag', () => {
    expect(Object.keys(BAD_FLAGS).sort()).toEqual(RUN.flags.map((f) => f.name).sort());
  });

  test.each(Object.entries(BAD_FLAGS))('%s %j', (flag, [value, problem]) => {
    // The source flags exclude each other: either is given alone.
    const args = ['--manifests', '--kubeconfig', '--k8s-api-server'].includes(flag) ? [`${flag}=${value}`] : ['--manifests', '/m', `${flag}=${value}`];
    const message = failure(args);
    expect(message).toContain(flag);
    expect(message).toContain(problem);
  });
});

describe('every KubeProxyConfiguration field kpr reads, with a bad value, fails naming the field', () => {
  test('the table covers every field kpr reads', () => {
    const read = [...APPLIED_FIELDS, ...['iptables', 'nftables', 'ipvs'].flatMap((m) => [`${m}.syncPeriod`, `${m}.minSyncPeriod`])];
    expect(Object.keys(BAD_FIELDS).sort()).toEqual(read.sort());
  });

  test.each(Object.entries(BAD_FIELDS))('%s', (field, [yaml, problem]) => {
    const text = /^(apiVersion|kind):/.test(yaml) ? `${HEAD.replace(new RegExp(`^${yaml.split(':')[0]}: .*$`, 'm'), yaml)}` : `${HEAD}${yaml}\n`;
    // --manifests, but where the kubeconfig is the field: then kpr reads it.
    const source = field === 'clientConnection.kubeconfig' ? [] : ['--manifests', '/m'];
    const message = failure([...source, '--config', '/etc/kpr/config.yaml'], { '/etc/kpr/config.yaml': text });
    expect(message).toContain('--config');
    expect(message).toContain(shownAs(field));
    expect(message).toContain(problem);
  });
});

describe('bin/kpr run exits non-zero at start, naming the flag, before it changes anything', () => {
  const KPR = path.join(repoRoot(), 'bin', 'kpr');
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpr-config-errors-'));
    fs.writeFileSync(path.join(dir, 'config.yaml'), `${HEAD}iptables: {syncPeriod: 1d}\n`);
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  // Each case names a bpf root inside dir and a cgroup root that does not
  // exist: were a check missed, the agent would stop at the cgroup root (the
  // wrong message) before it made the bpf root or attached anything.
  test.each<[string, string[], RegExp]>([
    ['a bad flag value', ['--manifests', '/m', '--bpf-lb-mode', 'dsr-tunl'], /^kpr run: flag --bpf-lb-mode must be one of snat, dsr, hybrid, got "dsr-tunl"/m],
    ['a bad config file field', ['--manifests', '/m', '--config', 'CONFIG'], /^kpr run: --config .*config\.yaml: iptables\.syncPeriod: must be a duration/m],
    ['a manifest path that does not exist', ['--manifests', '/none/manifests'], /--manifests \/none\/manifests: no such file or directory/],
    ['a kubeconfig that does not exist', ['--kubeconfig', '/none/kubeconfig'], /flag --kubeconfig \/none\/kubeconfig: ENOENT/],
    ['a device that does not exist', ['--manifests', 'DIR', '--devices', 'kprnone0'], /flag --devices: no interface kprnone0 here/],
  ])('%s', (_name, args, message) => {
    const bpfRoot = path.join(dir, 'bpf');
    const argv = ['run', ...args.map((a) => a.replace('CONFIG', path.join(dir, 'config.yaml')).replace(/^DIR$/, dir)), '--bpf-root', bpfRoot, '--cgroup-root', '/none/cgroup', '--metrics-bind-address', '127.0.0.1:0', '--healthz-bind-address', '127.0.0.1:0'];
    const r = spawnSync(KPR, argv, { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).not.toBe(0);
    expect(r.status).not.toBeNull();
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(bpfRoot)).toBe(false);
  });
});
