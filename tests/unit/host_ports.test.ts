// hostPort: pods' container ports published on the node (model/host_ports.ts).
import { desiredFrontends } from '../../lib/model/desired';
import { DesiredFrontends } from '../../lib/model/desired_memo';
import { HostPort, Pod } from '../../lib/model/objects';
import { decodeDocument } from '../../lib/sources/decode_object';
import { ALL_NODE_ADDRESSES, node, service } from './objects';

const NODE = node(['198.18.0.1', 'fd00:198:18::1']);
const pod = (name: string, created: string, hostPorts: HostPort[], more: { node?: string; hostNetwork?: boolean; phase?: string; ips?: string[] } = {}): Pod => ({
  metadata: { name, namespace: 'apps', labels: {}, annotations: {}, creationTimestamp: created },
  spec: { nodeName: more.node ?? 'node-a', ...(more.hostNetwork ? { hostNetwork: true } : {}), hostPorts },
  status: { podIPs: (more.ips ?? ['198.18.1.5', 'fd00:198:18:1::5']).map((ip) => ({ ip })), ...(more.phase ? { phase: more.phase } : {}) },
});
const view = (d: ReturnType<typeof desiredFrontends>) => ({
  socket: d.frontends.map((f) => `${f.kind} ${f.addr}:${f.port}/${f.proto} -> ${f.backends.map((b) => `${b.addr}:${b.port}`).join(',')}`).sort(),
  edge: d.edgeFrontends.map((f) => `${f.addr}:${f.port}/${f.proto} -> ${f.externalBackends.map((b) => `${b.addr}:${b.port}${b.nodeAddr ? '@' : ''}`).join(',')}`).sort(),
});

describe('hostPort', () => {
  test("each of this node's addresses, both families, to the pod's address and container port, for the node and for clients outside", () => {
    const d = desiredFrontends([], [], NODE, ALL_NODE_ADDRESSES, undefined, [pod('web', '2026-01-01T00:00:00Z', [{ containerPort: 8080, hostPort: 80 }, { containerPort: 53, hostPort: 5353, protocol: 'UDP' }])]);
    expect(view(d)).toEqual({
      socket: ['HostPort 198.18.0.1:5353/UDP -> 198.18.1.5:53', 'HostPort 198.18.0.1:80/TCP -> 198.18.1.5:8080', 'HostPort fd00:198:18::1:5353/UDP -> fd00:198:18:1::5:53', 'HostPort fd00:198:18::1:80/TCP -> fd00:198:18:1::5:8080'],
      edge: ['198.18.0.1:5353/UDP -> 198.18.1.5:53', '198.18.0.1:80/TCP -> 198.18.1.5:8080', 'fd00:198:18::1:5353/UDP -> fd00:198:18:1::5:53', 'fd00:198:18::1:80/TCP -> fd00:198:18:1::5:8080'],
    });
    expect(d.conflicts).toEqual([]);
  });

  test("hostIP narrows it to that address (one not of this node is said); hostNetwork, ended and other nodes' pods publish nothing here", () => {
    const pods = [
      pod('narrow', '2026-01-01T00:00:00Z', [{ containerPort: 8080, hostPort: 81, hostIP: 'fd00:198:18::1' }]),
      pod('elsewhere', '2026-01-01T00:00:00Z', [{ containerPort: 8080, hostPort: 82, hostIP: '198.18.9.9' }], { ips: ['198.18.1.6'] }),
      pod('any', '2026-01-01T00:00:00Z', [{ containerPort: 8080, hostPort: 83, hostIP: '0.0.0.0' }], { ips: ['198.18.1.7'] }),
      pod('host', '2026-01-01T00:00:00Z', [{ containerPort: 84, hostPort: 84 }], { hostNetwork: true }),
      pod('done', '2026-01-01T00:00:00Z', [{ containerPort: 85, hostPort: 85 }], { phase: 'Succeeded' }),
      pod('other-node', '2026-01-01T00:00:00Z', [{ containerPort: 86, hostPort: 86 }], { node: 'node-b' }),
    ];
    const d = desiredFrontends([], [], NODE, ALL_NODE_ADDRESSES, undefined, pods);
    expect(view(d).socket).toEqual(['HostPort 198.18.0.1:83/TCP -> 198.18.1.7:8080', 'HostPort fd00:198:18::1:81/TCP -> fd00:198:18:1::5:8080']);
    expect(d.warnings).toEqual(['Pod apps/elsewhere: hostIP 198.18.9.9 is not an address of this node: hostPort 82 is not served']);
  });

  test('a contested port: a Service keeps it, then the oldest pod; the others are reported', () => {
    const svc = service('np', { type: 'NodePort', clusterIP: '198.19.0.10', ports: [{ port: 80, nodePort: 30080 }] });
    const pods = [pod('young', '2026-02-01T00:00:00Z', [{ containerPort: 1, hostPort: 9000 }]), pod('old', '2026-01-01T00:00:00Z', [{ containerPort: 2, hostPort: 9000 }, { containerPort: 3, hostPort: 30080 }])];
    const d = desiredFrontends([svc], [], node(['198.18.0.1']), ALL_NODE_ADDRESSES, undefined, pods);
    expect(view(d).socket.filter((f) => f.includes(':9000/') || f.includes(':30080/'))).toEqual(['HostPort 198.18.0.1:9000/TCP -> 198.18.1.5:2', 'NodePort 198.18.0.1:30080/TCP -> ']);
    expect(d.conflicts).toEqual([
      'Pod apps/old: port "30080/TCP": frontend 198.18.0.1:30080/TCP is already served by Service default/np; skipped',
      'Pod apps/young: port "9000/TCP": frontend 198.18.0.1:9000/TCP is already served by Pod apps/old; skipped',
    ]);
  });

  test('the memo takes a new pods array as a change, and the same one as none', () => {
    const NONE = { services: [], endpointSlices: [] };
    const memo = new DesiredFrontends();
    const pods = [pod('web', '2026-01-01T00:00:00Z', [{ containerPort: 8080, hostPort: 80 }])];
    const first = memo.compute(NONE, NODE, ALL_NODE_ADDRESSES, undefined, pods);
    expect(memo.compute(NONE, NODE, ALL_NODE_ADDRESSES, undefined, pods)).toBe(first);
    expect(memo.compute(NONE, NODE, ALL_NODE_ADDRESSES, undefined, []).frontends).toEqual([]);
  });

  test('decoded from a Pod: only the ports that have a hostPort, with their protocol and hostIP', () => {
    const out = decodeDocument({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', namespace: 'apps', creationTimestamp: '2026-01-01T00:00:00Z' },
      spec: { nodeName: 'node-a', containers: [{ name: 'c', ports: [{ containerPort: 8080 }, { containerPort: 53, hostPort: 53, protocol: 'UDP', hostIP: '::' }, { containerPort: 9, hostPort: 0 }] }] },
      status: { phase: 'Running', podIPs: [{ ip: '198.18.1.5' }] },
    });
    expect(out).toMatchObject({ object: { kind: 'Pod', object: { spec: { hostPorts: [{ containerPort: 53, hostPort: 53, protocol: 'UDP', hostIP: '::' }] }, status: { phase: 'Running' } } } });
    const bad = decodeDocument({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 8080, hostPort: 70000 }] }] } });
    expect(bad).toMatchObject({ error: expect.stringMatching(/spec.containers\[0\].ports\[0\].hostPort.*65535/) });
  });
});
