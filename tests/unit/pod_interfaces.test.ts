// Which of the node's links are its interfaces towards pods (host/pod_interfaces.ts).
import { parseLinks, podInterfaces } from '../../lib/host/pod_interfaces';

// `ip -j -d link show` on a node: its uplink (a veth into another namespace,
// as in kpr's own test networks), a bridge, pods' veths and a netkit device,
// a veth pair within the node's namespace, and a tunnel.
const LINKS = JSON.stringify([
  { ifindex: 1, ifname: 'lo', link_type: 'loopback' },
  { ifindex: 2, ifname: 'eth0', link_netnsid: 0, linkinfo: { info_kind: 'veth' } },
  { ifindex: 3, ifname: 'cni0', linkinfo: { info_kind: 'bridge' } },
  { ifindex: 4, ifname: 'veth1a2b', link_netnsid: 1, linkinfo: { info_kind: 'veth', info_slave_kind: 'bridge' } },
  { ifindex: 5, ifname: 'lxc9f00', link_netnsid: 2, linkinfo: { info_kind: 'veth' } },
  { ifindex: 6, ifname: 'nk0', link_netnsid: 3, linkinfo: { info_kind: 'netkit' } },
  { ifindex: 7, ifname: 'here0', link: 'here1', linkinfo: { info_kind: 'veth' } },
  { ifindex: 8, ifname: 'here1', link: 'here0', linkinfo: { info_kind: 'veth' } },
  { ifindex: 9, ifname: 'tunl0', linkinfo: { info_kind: 'ipip' } },
]);

describe('pod interfaces', () => {
  test("auto: veth and netkit devices whose peer is in another namespace, never the node's devices", () => {
    expect(podInterfaces(parseLinks(LINKS), 'auto', ['eth0'])).toEqual(['lxc9f00', 'nk0', 'veth1a2b']);
    // Before the node's devices are told, its uplink would look like a pod's: the caller waits for them.
    expect(podInterfaces(parseLinks(LINKS), 'auto', [])).toContain('eth0');
  });

  test('named: exact names and prefixes ("lxc+"), still never a node device', () => {
    expect(podInterfaces(parseLinks(LINKS), ['lxc+', 'here0', 'eth0', 'absent'], ['eth0'])).toEqual(['here0', 'lxc9f00']);
    expect(podInterfaces(parseLinks(LINKS), [], ['eth0'])).toEqual([]);
  });

  test('parseLinks keeps the name, the kind and the peer namespace', () => {
    expect(parseLinks(LINKS).slice(0, 3)).toEqual([{ name: 'lo' }, { name: 'eth0', kind: 'veth', peerNetnsId: 0 }, { name: 'cni0', kind: 'bridge' }]);
  });
});
