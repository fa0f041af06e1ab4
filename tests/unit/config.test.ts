import { runConfig } from '../../lib/cli/commands/run';
import { KUBE_PROXY_CONNTRACK } from '../../lib/host/conntrack_sysctls';
import { RUN } from '../../lib/cli/commands/run_flags';
import { servicesCommand } from '../../lib/cli/commands/services';
import { commandHelp, parseFlags, UsageError } from '../../lib/cli/flags';
import { listingConfig } from '../../lib/cli/shared_flags';
import { RunConfig } from '../../lib/run_config';
import { DEFAULT_MAGLEV_SEED } from '../../lib/datapath/edge/maglev';

const NO_ENV = {};
const noFile = (f: string): string => {
  throw new Error(`ENOENT: no such file or directory, open '${f}'`);
};
/** The kubeconfig files the tests name: kpr reads them at start. */
const KUBECONFIGS: Record<string, string> = { '/k': 'kind: Config', '/var/lib/kube-proxy/kubeconfig.conf': 'kind: Config' };
const run = (args: string[], env: NodeJS.ProcessEnv = NO_ENV, files: Record<string, string> = {}) =>
  runConfig(args, env, (f) => files[f] ?? KUBECONFIGS[f] ?? noFile(f)) as RunConfig;

const STANDALONE_DEFAULTS: RunConfig = {
  source: { kind: 'manifests', path: '/etc/kpr' },
  hostnameOverride: undefined,
  procfs: '/proc',
  nodePortAddresses: [],
  localhostNodePorts: true,
  minSyncPeriodMs: 0,
  syncPeriodMs: 30_000,
  metrics: { host: '127.0.0.1', port: 10249 },
  healthz: { host: '0.0.0.0', port: 10256 },
  metricsPerService: false,
  metricsKubeProxyTotalGauge: false,
  bindAddressHardFail: false,
  configWarnings: [],
  bpfRoot: '/sys/fs/bpf',
  cgroupRoot: undefined,
  bpfObjectDir: undefined,
  lbMapMax: 65536,
  revNatMapMax: 131072,
  fragmentsMapMax: 8192,
  lbMode: 'snat',
  lbAlgorithm: 'maglev',
  maglevTableSize: 16381,
  maglevSeed: DEFAULT_MAGLEV_SEED,
  lbSourceRangeAllTypes: false,
  externalClusterIP: false,
  sockHostnsOnly: false,
  noBackendResponse: 'reject',
  acceleration: 'best-effort',
  devices: undefined,
  snatPorts: undefined,
  flowTimeouts: { tcpEstablished: 432000, tcpSyn: 120, tcpFin: 120, tcpClose: 10, udp: 30, udpStream: 120 },
  conntrack: {},
  gcIntervalMs: 10_000,
  logLevel: 'info',
};

const CONFIG = `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
hostnameOverride: node-b
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
metricsBindAddress: 0.0.0.0:10249
iptables:
  minSyncPeriod: 2s
  syncPeriod: 1m
nodePortAddresses: [198.18.0.0/15]
`;

describe('kpr run flags', () => {
  test('defaults, standalone', () => {
    expect(run(['--manifests', '/etc/kpr'])).toEqual(STANDALONE_DEFAULTS);
  });

  test('defaults, Kubernetes: in a cluster without flags, or with --kubeconfig; minSyncPeriod 1s', () => {
    // With Kubernetes the per-packet path goes to pods' interfaces by default; standalone has no pods.
    // And kube-proxy's conntrack settings: standalone leaves the host's conntrack alone.
    const k8s = { ...STANDALONE_DEFAULTS, minSyncPeriodMs: 1000, podInterfaces: 'auto', conntrack: KUBE_PROXY_CONNTRACK };
    expect(run([], { KUBERNETES_SERVICE_HOST: '198.18.0.1', KUBERNETES_SERVICE_PORT: '443' })).toEqual({ ...k8s, source: { kind: 'kubernetes', kubeconfig: undefined } });
    expect(run(['--kubeconfig', '/k'])).toEqual({ ...k8s, source: { kind: 'kubernetes', kubeconfig: '/k' } });
  });

  test("--k8s-api-server (kube-proxy's --master) names the API server: enough outside a pod, and beside a kubeconfig", () => {
    const source = (args: string[], env: NodeJS.ProcessEnv = NO_ENV) => run(args, env).source;
    expect(source(['--k8s-api-server', '198.18.170.1:6443'])).toEqual({ kind: 'kubernetes', kubeconfig: undefined, apiServer: 'https://198.18.170.1:6443/' });
    expect(source(['--master=https://[fd00:198:18:aa::1]:6443'])).toEqual({ kind: 'kubernetes', apiServer: 'https://[fd00:198:18:aa::1]:6443/' });
    expect(source(['--kubeconfig', '/k', '--k8s-api-server=https://api.example/'])).toEqual({ kind: 'kubernetes', kubeconfig: '/k', apiServer: 'https://api.example/' });
    // The kubelet's address of the kubernetes Service is not even looked at, whatever it holds.
    expect(source(['--k8s-api-server', 'api.example:6443'], { KUBERNETES_SERVICE_HOST: '198.19.0.1', KUBERNETES_SERVICE_PORT: 'https' })).toEqual({
      kind: 'kubernetes',
      apiServer: 'https://api.example:6443/',
    });
    expect(commandHelp(RUN)).toContain('--master, --k8s-api-server URL');
  });

  test('every flag, with and without =', () => {
    expect(
      run([
        '--manifests=/m',
        '--bpf-root',
        '/tmp/bpf',
        '--cgroup-root=/tmp/cg',
        '--bpf-object-dir',
        '/opt/kpr/bpf',
        '--bpf-lb-map-max',
        '1024',
        '--bpf-lb-sock-rev-nat-map-max=2048',
        '--bpf-fragments-map-max',
        '512',
        '--log-level',
        'debug',
        '--hostname-override=node-c',
        '--k8s-service-proxy-name',
        'kpr-edge',
        '--nodeport-addresses',
        '198.18.0.0/16, fd00:198:18::/48',
        '--min-sync-period=500ms',
        '--sync-period',
        '1m30s',
        '--metrics-bind-address',
        '[::1]:9000',
        '--healthz-bind-address=0.0.0.0:0',
        '--metrics-per-service=true',
        '--metrics-kube-proxy-total-gauge',
        'true',
      ]),
    ).toEqual({
      ...STANDALONE_DEFAULTS,
      source: { kind: 'manifests', path: '/m' },
      bpfRoot: '/tmp/bpf',
      cgroupRoot: '/tmp/cg',
      bpfObjectDir: '/opt/kpr/bpf',
      lbMapMax: 1024,
      revNatMapMax: 2048,
      fragmentsMapMax: 512,
      logLevel: 'debug',
      hostnameOverride: 'node-c',
      serviceProxyName: 'kpr-edge',
      nodePortAddresses: ['198.18.0.0/16', 'fd00:198:18::/48'],
      minSyncPeriodMs: 500,
      syncPeriodMs: 90_000,
      metrics: { host: '::1', port: 9000 },
      healthz: undefined,
      metricsPerService: true,
      metricsKubeProxyTotalGauge: true,
    });
    expect(() => run(['--manifests=/m', '--metrics-per-service', 'yes'])).toThrow('flag --metrics-per-service must be one of true, false, got "yes"');
  });

  test('edge LB flags, by Cilium\'s names', () => {
    expect(
      run([
        '--manifests=/m',
        '--bpf-lb-mode=hybrid',
        '--bpf-lb-algorithm',
        'random',
        '--bpf-lb-maglev-table-size',
        '65521',
        '--bpf-lb-maglev-hash-seed=JLfvgnHc2kaSUFaI',
        '--service-no-backend-response',
        'drop',
        '--bpf-lb-acceleration=native',
        '--devices',
        'eth0, eth1',
        '--bpf-lb-source-range-all-types=true',
        '--bpf-lb-external-clusterip',
        'true',
        '--bpf-lb-pod-interfaces=lxc+, tap0',
      ]),
    ).toEqual({
      ...STANDALONE_DEFAULTS,
      source: { kind: 'manifests', path: '/m' },
      lbMode: 'hybrid',
      lbAlgorithm: 'random',
      maglevTableSize: 65521,
      // JLfvgnHc2kaSUFaI: words 0x82efb724, 0x46dadc71, 0x88565092 (little-endian), XOR-folded.
      maglevSeed: (0x82efb724 ^ 0x46dadc71 ^ 0x88565092) >>> 0,
      noBackendResponse: 'drop',
      acceleration: 'native',
      devices: ['eth0', 'eth1'],
      lbSourceRangeAllTypes: true,
      externalClusterIP: true,
      podInterfaces: ['lxc+', 'tap0'],
    });
    expect(run(['--kubeconfig=/k', '--bpf-lb-pod-interfaces', 'none']).podInterfaces).toBeUndefined();
    expect(run(['--manifests=/m', '--bpf-lb-pod-interfaces', 'auto']).podInterfaces).toBe('auto');
    expect(run(['--manifests=/m', '--lb-mode', 'dsr', '--bpf-lb-maglev-hash-seed', '7']).lbMode).toBe('dsr');
    expect(run(['--manifests=/m', '--bpf-lb-maglev-hash-seed', '7']).maglevSeed).toBe(7);
  });

  test('--config: the file gives what flags do not; flags win', () => {
    const files = { '/c.yaml': CONFIG };
    expect(run(['--config', '/c.yaml'], NO_ENV, files)).toEqual({
      ...STANDALONE_DEFAULTS,
      source: { kind: 'kubernetes', kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf' },
      podInterfaces: 'auto',
      conntrack: KUBE_PROXY_CONNTRACK,
      hostnameOverride: 'node-b',
      nodePortAddresses: ['198.18.0.0/15'],
      minSyncPeriodMs: 2000,
      syncPeriodMs: 60_000,
      metrics: { host: '0.0.0.0', port: 10249 },
    });
    const flags = run(['--config', '/c.yaml', '--manifests', '/m', '--hostname-override', 'x', '--min-sync-period', '0', '--metrics-bind-address', '127.0.0.1:0'], NO_ENV, files);
    expect(flags).toMatchObject({ source: { kind: 'manifests', path: '/m' }, hostnameOverride: 'x', minSyncPeriodMs: 0, syncPeriodMs: 60_000, metrics: undefined });
  });

  test("--nodeport-addresses: CIDRs and kube-proxy's keywords; primary by default in nftables mode, as kube-proxy; loopback-only entries warned about", () => {
    expect(run(['--manifests', '/m', '--nodeport-addresses', 'primary, 198.18.7.1/16']).nodePortAddresses).toEqual(['primary', '198.18.0.0/16']);
    const files = { '/nft.yaml': `${CONFIG.replace(/^nodePortAddresses: .*$/m, '')}mode: nftables\n` };
    expect(run(['--config', '/nft.yaml'], NO_ENV, files).nodePortAddresses).toEqual(['primary']);
    expect(run(['--config', '/nft.yaml', '--nodeport-addresses', 'all'], NO_ENV, files).nodePortAddresses).toEqual(['all']);
    expect(run(['--manifests', '/m', '--nodeport-addresses', 'localhost,198.18.0.0/15']).configWarnings).toEqual([]);
    expect(run(['--manifests', '/m', '--nodeport-addresses', 'localhost,198.18.0.0/15', '--iptables-localhost-nodeports=false']).configWarnings).toEqual([
      'nodePortAddresses: localhost selects loopback addresses only, and localhost NodePorts are off (--iptables-localhost-nodeports): it selects nothing',
    ]);
  });

  test("conntrack: kube-proxy's defaults with Kubernetes, nothing standalone; the file over the defaults, the flags over the file; kube-proxy's timeout flags set the edge's flows too", () => {
    const files = { '/ct.yaml': `${CONFIG}conntrack: {maxPerCore: 0, tcpCloseWaitTimeout: 2h, udpTimeout: 45s, tcpBeLiberal: true}\n` };
    const ct = (args: string[]) => run(args, NO_ENV, files);
    expect(ct(['--manifests', '/m']).conntrack).toEqual({});
    expect(ct(['--config', '/ct.yaml'])).toMatchObject({
      conntrack: { ...KUBE_PROXY_CONNTRACK, maxPerCore: 0, tcpCloseWait: 7200, udp: 45, tcpBeLiberal: true },
      flowTimeouts: { udp: 45, tcpEstablished: 432_000 },
    });
    const flagged = ct(['--config', '/ct.yaml', '--conntrack-max-per-core=8192', '--conntrack-min', '0', '--conntrack-tcp-timeout-close-wait', '30m', '--conntrack-udp-timeout=20s', '--conntrack-tcp-timeout-established', '12h', '--conntrack-tcp-be-liberal=false']);
    expect(flagged.conntrack).toEqual({ maxPerCore: 8192, min: 0, tcpEstablished: 43_200, tcpCloseWait: 1800, udp: 20, tcpBeLiberal: false });
    expect(flagged.flowTimeouts).toMatchObject({ udp: 20, tcpEstablished: 43_200 });
    // An explicit 0s leaves the node's value alone, with Kubernetes too (kube-proxy's meaning).
    const zero = run(['--config', '/zero.yaml'], NO_ENV, { '/zero.yaml': `${CONFIG}conntrack: {tcpEstablishedTimeout: 0s, maxPerCore: 0}\n` });
    expect(zero.conntrack).toMatchObject({ tcpEstablished: 0, maxPerCore: 0, tcpCloseWait: 3600 });
    expect(zero.flowTimeouts.tcpEstablished).toBe(432_000);
    // Standalone, a flag given still sets the node's too: the operator asked for it.
    expect(ct(['--manifests', '/m', '--conntrack-tcp-timeout-close-wait', '1h']).conntrack).toEqual({ tcpCloseWait: 3600 });
  });

  test("localhost NodePorts: on by default, as kube-proxy's iptables mode; off in its nftables mode; the flag over the file", () => {
    const files = {
      '/nft.yaml': `${CONFIG}mode: nftables\n`,
      '/off.yaml': CONFIG.replace('iptables:\n', 'iptables:\n  localhostNodePorts: false\n'),
      '/on.yaml': CONFIG.replace('iptables:\n', 'iptables:\n  localhostNodePorts: true\n'),
    };
    const local = (args: string[]) => run(args, NO_ENV, files);
    expect(local(['--manifests', '/m']).localhostNodePorts).toBe(true);
    expect(local(['--config', '/on.yaml']).localhostNodePorts).toBe(true);
    expect(local(['--config', '/off.yaml']).localhostNodePorts).toBe(false);
    expect(local(['--config', '/off.yaml']).configWarnings).toEqual([]);
    expect(local(['--config', '/nft.yaml']).localhostNodePorts).toBe(false);
    expect(local(['--config', '/off.yaml', '--iptables-localhost-nodeports', 'true']).localhostNodePorts).toBe(true);
    expect(local(['--manifests', '/m', '--iptables-localhost-nodeports=false']).localhostNodePorts).toBe(false);
  });

  test('--config: fields kpr does not apply are warned about, unknown ones fail', () => {
    const files = {
      '/w.yaml': `${CONFIG}mode: ipvs\nconntrack: {maxPerCore: 0}\nclusterCIDR: 198.18.0.0/16\n`,
      '/u.yaml': `${CONFIG}conntrack: {maxPerCor: 1}\n`,
    };
    expect(run(['--config', '/w.yaml'], NO_ENV, files).configWarnings).toEqual(['iptables.minSyncPeriod is set, but kpr does not apply it', 'iptables.syncPeriod is set, but kpr does not apply it', 'clusterCIDR is set, but kpr does not apply it']);
    expect(() => run(['--config', '/u.yaml'], NO_ENV, files)).toThrow(new UsageError('run', '--config /u.yaml: conntrack.maxPerCor: unknown field (not in KubeProxyConfiguration kubeproxy.config.k8s.io/v1alpha1)'));
  });

  test('help', () => {
    expect(runConfig(['--manifests', '/m', '--help'])).toBe('help');
    expect(commandHelp(RUN)).toContain('--kubeconfig FILE');
    expect(commandHelp(RUN)).toContain('--bpf-lb-map-max N');
    expect(commandHelp(RUN)).toContain('--lb-mode, --bpf-lb-mode MODE');
    expect(commandHelp(RUN)).toContain('--devices IFACES');
  });

  test.each([
    [['--manifests', '/m', '--bogus'], 'unknown flag --bogus'],
    [['--manifests'], 'flag --manifests needs a value (PATH)'],
    [['--manifests', '--bpf-root', '/x'], 'flag --manifests needs a value (PATH)'],
    [['--manifests='], 'flag --manifests needs a value (PATH)'],
    [[], 'flag --manifests, --kubeconfig or --k8s-api-server is required outside a cluster (KUBERNETES_SERVICE_HOST is not set)'],
    [['--manifests', '/m', '--kubeconfig', '/k'], 'flags --manifests and --kubeconfig exclude each other'],
    [['--manifests', '/m', '--master', '198.18.170.1:6443'], 'flags --manifests and --k8s-api-server exclude each other'],
    [['--k8s-api-server', '198.18.170.1:65536'], 'flag --k8s-api-server: "198.18.170.1:65536": port 65536 is not from 1 to 65535'],
    [['--k8s-api-server', 'https://198.18.170.1:0'], 'flag --k8s-api-server: "https://198.18.170.1:0": port 0 is no API server\'s port'],
    [['--k8s-api-server', 'http://198.18.170.1:8080'], 'flag --k8s-api-server: "http://198.18.170.1:8080": kpr talks to API servers over https only'],
    [['--k8s-api-server', 'fd00:198:18:aa::1'], 'flag --k8s-api-server: "fd00:198:18:aa::1" is not an address: give https://HOST[:PORT] or HOST:PORT'],
    [['--k8s-api-server', 'https://198.18.170.1:6443?watch=1'], 'flag --k8s-api-server: "https://198.18.170.1:6443?watch=1": an API server address has no user, query or fragment'],
    [['--manifests', '/m', '--sync-period', '1x'], 'flag --sync-period must be a duration such as 1s, 500ms or 1m30s, got "1x"'],
    [['--manifests', '/m', '--sync-period', '0s'], 'flag --sync-period: the sync period must be greater than 0'],
    [['--manifests', '/m', '--min-sync-period', '1m', '--sync-period', '30s'], 'flag --sync-period: the sync period (30s) must not be shorter than the min sync period (1m, flag --min-sync-period)'],
    [['--manifests', '/m', '--nodeport-addresses', '198.18.0.1'], 'flag --nodeport-addresses: "198.18.0.1" is not a CIDR nor one of the keywords primary, localhost, all'],
    [['--manifests', '/m', '--nodeport-addresses', 'all,198.18.0.0/15,all'], 'flag --nodeport-addresses: "all" is given twice'],
    [['--manifests', '/m', '--nodeport-addresses', '198.18.0.0/15,'], 'flag --nodeport-addresses: "" is not a CIDR nor one of the keywords primary, localhost, all'],
    [['--manifests', '/m', '--metrics-bind-address', 'localhost:1'], 'flag --metrics-bind-address: "localhost:1" is not an IP:port address'],
    [['--manifests', '/m', '--config', '/none'], "--config /none: ENOENT: no such file or directory, open '/none'"],
    [['/m'], 'unexpected argument "/m"'],
    [['--manifests', '/m', '--manifests', '/n'], 'flag --manifests given twice'],
    [['--manifests', '/m', '--bpf-lb-map-max', '12k'], 'flag --bpf-lb-map-max must be an integer from 1 to 16777216, got "12k"'],
    [['--manifests', '/m', '--bpf-lb-map-max', '0'], 'flag --bpf-lb-map-max must be an integer from 1 to 16777216, got "0"'],
    [['--manifests', '/m', '--bpf-lb-map-max=-5'], 'flag --bpf-lb-map-max must be an integer from 1 to 16777216, got "-5"'],
    [['--manifests', '/m', '--bpf-lb-sock-rev-nat-map-max', '1.5'], 'flag --bpf-lb-sock-rev-nat-map-max must be an integer from 1 to 16777216, got "1.5"'],
    [['--manifests', '/m', '--log-level', 'trace'], 'flag --log-level must be one of error, warn, info, debug, got "trace"'],
    [['--manifests', '/m', '--bpf-lb-mode', 'dsr-tunl'], 'flag --bpf-lb-mode must be one of snat, dsr, hybrid, got "dsr-tunl"'],
    [['--manifests', '/m', '--bpf-lb-algorithm', 'rr'], 'flag --bpf-lb-algorithm must be one of maglev, random, got "rr"'],
    [['--manifests', '/m', '--service-no-backend-response', 'ignore'], 'flag --service-no-backend-response must be one of reject, drop, got "ignore"'],
    [['--manifests', '/m', '--bpf-lb-acceleration', 'offload'], 'flag --bpf-lb-acceleration must be one of native, generic, best-effort, disabled, got "offload"'],
    [
      ['--manifests', '/m', '--bpf-lb-maglev-table-size', '65537'],
      'flag --bpf-lb-maglev-table-size must be one of 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071, got "65537"',
    ],
    [
      ['--manifests', '/m', '--bpf-lb-maglev-hash-seed', 'FYJf2hrSynYxcZrkMWTGYA=='],
      'flag --bpf-lb-maglev-hash-seed must be an unsigned 32-bit integer, or Cilium\'s 12 bytes in base64 (head -c12 /dev/urandom | base64), got "FYJf2hrSynYxcZrkMWTGYA=="',
    ],
    [['--manifests', '/m', '--devices', 'eth0,,eth1'], 'flag --devices: "eth0,,eth1" is not a comma-separated list of interface names'],
    ...['kpr/edge', '-kpr', 'kpr.', 'k'.repeat(64)].map((name): [string[], string] => [
      ['--manifests', '/m', `--service-proxy-name=${name}`],
      `flag --service-proxy-name: ${JSON.stringify(name)} is not a label value (at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit): no Service could be labelled with it`,
    ]),
  ])('%j -> %s', (args, message) => {
    expect(() => run(args)).toThrow(new UsageError('run', message));
  });

  test.each([
    [{ KUBERNETES_SERVICE_HOST: '198.18.170.1' }, 'no --kubeconfig or --k8s-api-server, and not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset'],
    [{ KUBERNETES_SERVICE_HOST: '198.18.170.1', KUBERNETES_SERVICE_PORT: '0' }, 'KUBERNETES_SERVICE_PORT="0" is not a port from 1 to 65535'],
    [{ KUBERNETES_SERVICE_HOST: '198.18.170.1', KUBERNETES_SERVICE_PORT: '64k' }, 'KUBERNETES_SERVICE_PORT="64k" is not a port from 1 to 65535'],
    [{ KUBERNETES_SERVICE_HOST: '198.18.170.1:6443', KUBERNETES_SERVICE_PORT: '6443' }, 'KUBERNETES_SERVICE_HOST="198.18.170.1:6443" is not a host name or IP address'],
    [{ KUBERNETES_SERVICE_HOST: 'https://api.example', KUBERNETES_SERVICE_PORT: '6443' }, 'KUBERNETES_SERVICE_HOST="https://api.example" is not a host name or IP address'],
  ])('in a pod, %j is refused at start', (env, message) => {
    expect(() => run([], env)).toThrow(new UsageError('run', `in-cluster: ${message}`));
  });
});

describe('kpr services flags', () => {
  test.each([
    [[], { bpfRoot: '/sys/fs/bpf', output: 'table' }],
    [['-o', 'json'], { bpfRoot: '/sys/fs/bpf', output: 'json' }],
    [['--output=json', '--bpf-root', '/tmp/b'], { bpfRoot: '/tmp/b', output: 'json' }],
  ])('%j', (args, want) => {
    expect(listingConfig(servicesCommand.specs[0], args)).toEqual(want);
  });

  test('bad output', () => {
    expect(() => listingConfig(servicesCommand.specs[0], ['-o', 'yaml'])).toThrow('flag --output must be one of table, json, got "yaml"');
  });

  test('errors say which command they belong to', () => {
    try {
      parseFlags(RUN, ['--nope']);
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      expect((e as UsageError).command).toBe('run');
    }
    expect.assertions(2);
  });
});
